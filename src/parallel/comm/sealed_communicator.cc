// SealedCommunicator: sealing point-to-point messages, collectives over them, the key confirmation.
#include "parallel/comm/sealed_communicator.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <cstring>

namespace tessera {

namespace {

constexpr int kConfirmTag = kFirstReservedLinkTag;
constexpr int kBroadcastTag = kFirstReservedLinkTag + 1;
constexpr int kReduceTag = kFirstReservedLinkTag + 2;
constexpr int kGatherTag = kFirstReservedLinkTag + 3;
constexpr int kBarrierTag = kFirstReservedLinkTag + 4;
constexpr int kLastLinkTag = kFirstReservedLinkTag + 7;

constexpr char kProof[] = "tessera link key confirmation v1";

std::string RankList(const std::vector<int64_t>& ranks) {
  std::string s = ranks.size() == 1 ? "rank " : "ranks ";
  for (size_t i = 0; i < ranks.size(); ++i) s += (i ? ", " : "") + std::to_string(ranks[i]);
  return s;
}

}  // namespace

StatusOr<std::unique_ptr<SealedCommunicator>> SealedCommunicator::Open(std::unique_ptr<Communicator> inner,
                                                                       const LinkSecret& secret) {
  if (secret.bytes().size() < kMinLinkSecretBytes) return InvalidArgument("a link secret needs at least 32 bytes");
  TS_ASSIGN_OR_RETURN(Tensor salt, Tensor::Allocate(DType::kUInt8, {static_cast<int64_t>(kLinkSaltBytes)}));
  if (inner->rank() == 0 && RAND_bytes(salt.data<uint8_t>(), static_cast<int>(kLinkSaltBytes)) != 1) {
    return Internal("the system's random generator failed (drawing the link salt)");
  }
  TS_RETURN_IF_ERROR(inner->Broadcast(salt, 0));
  if (salt.dtype() != DType::kUInt8 || salt.shape() != Shape{static_cast<int64_t>(kLinkSaltBytes)}) {
    return InvalidArgument("rank 0 sent a link salt of shape " + ShapeToString(salt.shape()));
  }
  std::array<uint8_t, kLinkSaltBytes> bytes;
  std::memcpy(bytes.data(), salt.raw_data(), kLinkSaltBytes);
  return std::unique_ptr<SealedCommunicator>(new SealedCommunicator(std::move(inner), secret, bytes));
}

Status SealedCommunicator::ConfirmKeys() {
  const Tensor proof = Tensor::FromVector<uint8_t>(DType::kUInt8, {static_cast<int64_t>(sizeof kProof)},
                                                   std::vector<uint8_t>(kProof, kProof + sizeof kProof));
  if (rank() != 0) {
    TS_RETURN_IF_ERROR(SendTo(proof, 0, kConfirmTag));
    StatusOr<Tensor> verdict = RecvFrom(0, kConfirmTag);
    if (!verdict.ok() && verdict.status().code() == StatusCode::kUnauthenticated) {
      return Unauthenticated("rank " + std::to_string(rank()) + " holds a different link key than rank 0");
    }
    TS_RETURN_IF_ERROR(verdict.status());
    if (verdict->dtype() != DType::kInt64 || verdict->rank() != 1) return InvalidArgument("rank 0 sent a malformed key verdict");
    std::vector<int64_t> bad(verdict->data<int64_t>(), verdict->data<int64_t>() + verdict->element_count());
    if (!bad.empty()) return Unauthenticated(RankList(bad) + (bad.size() == 1 ? " holds" : " hold") + " a different link key");
    return Status::Ok();
  }
  std::vector<int64_t> bad;
  for (int r = 1; r < size(); ++r) {
    StatusOr<Tensor> got = RecvFrom(r, kConfirmTag);
    const bool proven = got.ok() && got->byte_size() == proof.byte_size() &&
                        std::memcmp(got->raw_data(), proof.raw_data(), proof.byte_size()) == 0;
    if (!proven && !got.ok() && got.status().code() != StatusCode::kUnauthenticated) return got.status();
    if (!proven) bad.push_back(r);
  }
  const Tensor verdict = Tensor::FromVector<int64_t>(DType::kInt64, {static_cast<int64_t>(bad.size())}, bad);
  for (int r = 1; r < size(); ++r) TS_RETURN_IF_ERROR(SendTo(verdict, r, kConfirmTag));
  if (bad.empty()) return Status::Ok();
  return Unauthenticated(RankList(bad) + (bad.size() == 1 ? " holds" : " hold") + " a different link key" +
                         (size() > 2 && static_cast<int>(bad.size()) == size() - 1 ? " (or rank 0 does)" : ""));
}

StatusOr<LinkStream*> SealedCommunicator::Stream(int peer, int tag, bool sending) {
  auto& slot = streams_[{peer, tag, sending}];
  if (!slot) {
    const int src = sending ? rank() : peer, dst = sending ? peer : rank();
    TS_ASSIGN_OR_RETURN(LinkStreamKey key, DeriveLinkStreamKey(secret_, salt_, src, dst, tag));
    TS_ASSIGN_OR_RETURN(slot, LinkStream::Create(key, sending));
    OPENSSL_cleanse(key.key.data(), key.key.size());
  }
  return slot.get();
}

Status SealedCommunicator::CheckUserTag(int tag) const {
  if (tag < 0 || tag >= kFirstReservedLinkTag) {
    return InvalidArgument("tag " + std::to_string(tag) + " is outside 0.." + std::to_string(kFirstReservedLinkTag - 1) +
                           " (the tags above belong to sealed links)");
  }
  return Status::Ok();
}

Status SealedCommunicator::SendTo(const Tensor& tensor, int dst, int tag) {
  if (dst < 0 || dst >= size()) return InvalidArgument("send to rank " + std::to_string(dst) + " of " + std::to_string(size()));
  TS_ASSIGN_OR_RETURN(LinkStream * stream, Stream(dst, tag, true));
  TS_ASSIGN_OR_RETURN(Tensor record, stream->Seal({rank(), dst, tag}, tensor));
  return inner_->Send(record, dst, tag);
}

StatusOr<Tensor> SealedCommunicator::RecvFrom(int src, int tag) {
  if (src < 0 || src >= size()) return InvalidArgument("receive from rank " + std::to_string(src) + " of " + std::to_string(size()));
  TS_ASSIGN_OR_RETURN(LinkStream * stream, Stream(src, tag, false));
  TS_ASSIGN_OR_RETURN(Tensor record, inner_->Recv(src, tag));
  return stream->Open({src, rank(), tag}, record);
}

StatusOr<Tensor> SealedCommunicator::SendRecvWith(const Tensor& tensor, int dst, int src, int tag) {
  for (int peer : {dst, src}) {
    if (peer < 0 || peer >= size()) {
      return InvalidArgument("exchange with rank " + std::to_string(peer) + " of " + std::to_string(size()));
    }
  }
  TS_ASSIGN_OR_RETURN(LinkStream * sending, Stream(dst, tag, true));
  TS_ASSIGN_OR_RETURN(LinkStream * receiving, Stream(src, tag, false));
  TS_ASSIGN_OR_RETURN(Tensor record, sending->Seal({rank(), dst, tag}, tensor));
  TS_ASSIGN_OR_RETURN(Tensor got, inner_->SendRecv(record, dst, src, tag));
  return receiving->Open({src, rank(), tag}, got);
}

StatusOr<Tensor> SealedCommunicator::SendRecv(const Tensor& tensor, int dst, int src, int tag) {
  TS_RETURN_IF_ERROR(CheckUserTag(tag));
  return SendRecvWith(tensor, dst, src, tag);
}

Status SealedCommunicator::Send(const Tensor& tensor, int dst, int tag) {
  TS_RETURN_IF_ERROR(CheckUserTag(tag));
  return SendTo(tensor, dst, tag);
}

StatusOr<Tensor> SealedCommunicator::Recv(int src, int tag) {
  TS_RETURN_IF_ERROR(CheckUserTag(tag));
  return RecvFrom(src, tag);
}

StatusOr<int> SealedCommunicator::ProbeAny(int tag) {
  TS_RETURN_IF_ERROR(CheckUserTag(tag));
  return inner_->ProbeAny(tag);  // the record is opened by the Recv that follows
}

Status SealedCommunicator::Broadcast(Tensor& tensor, int root) {
  if (rank() == root && tensor.dtype() == DType::kString) return Unimplemented("broadcasting string tensors");
  return P2pBroadcast(*this, tensor, root, kBroadcastTag);
}

Status SealedCommunicator::AllReduceSum(Tensor& tensor) { return P2pAllReduceSum(*this, tensor, kReduceTag); }

StatusOr<Tensor> SealedCommunicator::AllGather(const Tensor& tensor, int64_t axis) {
  if (tensor.dtype() == DType::kString) return Unimplemented("all-gather of string tensors");
  return P2pAllGather(*this, tensor, axis, kGatherTag);
}

Status SealedCommunicator::Barrier() {
  Tensor one = Tensor::FromVector<int64_t>(DType::kInt64, {1}, std::vector<int64_t>{1});
  return P2pAllReduceSum(*this, one, kBarrierTag);
}

void SealedCommunicator::Abort(const std::string& message, int exit_code) {
  inner_->Abort(message, exit_code);
  std::_Exit(exit_code);  // not reached: the inner Abort does not return either
}

StatusOr<std::unique_ptr<Communicator>> SealedCommunicator::Split(int color, int key) {
  static_assert(kLastLinkTag < 16384, "reserved tags must stay within MPI's guaranteed range");
  TS_ASSIGN_OR_RETURN(LinkSecret secret, DeriveSplitSecret(secret_, salt_, split_count_++, color));
  TS_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> sub, inner_->Split(color, key));
  return std::unique_ptr<Communicator>(new SealedCommunicator(std::move(sub), secret, salt_));
}

}  // namespace tessera
