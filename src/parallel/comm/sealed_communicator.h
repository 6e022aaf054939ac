// SealedCommunicator: any Communicator with every message encrypted and authenticated (AES-256-GCM).
//
// Point-to-point messages become sealed records (sealed_record.h) under per-stream keys derived from the
// job's secret (link_key.h); the collectives run over sealed point-to-point (p2p_collectives.h), never the
// inner transport's own. A message that was forged, replayed, reordered, dropped or truncated fails with
// an error naming the link ("link from rank 1 to rank 0 (tag 7): ...") on the receiver. Split() gives a
// sealed sub-communicator whose secret derives from this one's, the split's number and its colour.
//
// What stays visible to whoever watches the network: that ranks talk, on which tags, how much and when.
// Tags kFirstReservedLinkTag and up belong to this layer. Not thread-safe, like every Communicator.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <tuple>

#include "parallel/comm/communicator.h"
#include "parallel/comm/link_key.h"
#include "parallel/comm/p2p_collectives.h"
#include "parallel/comm/sealed_record.h"

namespace tessera {

// MPI guarantees tags up to 32767 and MpiCommunicator uses two per logical tag: 16383 is the last.
constexpr int kFirstReservedLinkTag = 16376;

class SealedCommunicator : public Communicator, private PointToPoint {
 public:
  // Wraps `inner` (which it owns). Collective over `inner`: rank 0 draws the job's salt and broadcasts it
  // in the clear (it is public). Call ConfirmKeys next.
  static StatusOr<std::unique_ptr<SealedCommunicator>> Open(std::unique_ptr<Communicator> inner, const LinkSecret& secret);

  // Collective: every rank proves its key to rank 0, which tells every rank whose key differs. An error
  // names the rank(s) at fault; every rank gets one when any key differs.
  Status ConfirmKeys();

  int rank() const override { return inner_->rank(); }
  int size() const override { return inner_->size(); }
  std::string transport() const override { return inner_->transport(); }
  std::string link_protection() const override { return kSealedLinksText; }

  Status Send(const Tensor& tensor, int dst, int tag) override;
  StatusOr<Tensor> Recv(int src, int tag) override;
  // Seals before the exchange and opens after it, so both directions' records cross at once.
  StatusOr<Tensor> SendRecv(const Tensor& tensor, int dst, int src, int tag) override;
  StatusOr<int> ProbeAny(int tag) override;
  Status Broadcast(Tensor& tensor, int root) override;
  Status AllReduceSum(Tensor& tensor) override;
  StatusOr<Tensor> AllGather(const Tensor& tensor, int64_t axis) override;
  Status Barrier() override;
  StatusOr<std::unique_ptr<Communicator>> Split(int color, int key) override;
  [[noreturn]] void Abort(const std::string& message, int exit_code) override;

 private:
  SealedCommunicator(std::unique_ptr<Communicator> inner, const LinkSecret& secret,
                     const std::array<uint8_t, kLinkSaltBytes>& salt)
      : inner_(std::move(inner)), secret_(secret), salt_(salt) {}

  // PointToPoint, on any tag (the collectives use the reserved ones).
  Status SendTo(const Tensor& tensor, int dst, int tag) override;
  StatusOr<Tensor> RecvFrom(int src, int tag) override;
  StatusOr<Tensor> SendRecvWith(const Tensor& tensor, int dst, int src, int tag) override;

  StatusOr<LinkStream*> Stream(int peer, int tag, bool sending);
  Status CheckUserTag(int tag) const;

  std::unique_ptr<Communicator> inner_;
  LinkSecret secret_;
  std::array<uint8_t, kLinkSaltBytes> salt_;
  std::map<std::tuple<int, int, bool>, std::unique_ptr<LinkStream>> streams_;  // (peer, tag, sending)
  uint64_t split_count_ = 0;
};

}  // namespace tessera
