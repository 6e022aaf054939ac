// Collectives built from point-to-point messages alone, for a transport whose own collectives would
// bypass it (sealed links: MPI_Allreduce would carry plaintext).
//
// Every rank calls the same collective in the same order with the same tag. The all-reduce's steps are
// simultaneous exchanges (SendRecvWith), so both directions travel at once and every rank seals and opens
// at the same moment as its partners. When ranks disagree (shapes, dtypes), every rank gets an error
// instead of some hanging: the disagreement travels on as an empty "poison" message.
#pragma once

#include <cstdint>

#include "tessera/tensor.h"

namespace tessera {

// What the collectives need from a transport.
class PointToPoint {
 public:
  virtual ~PointToPoint() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual Status SendTo(const Tensor& tensor, int dst, int tag) = 0;
  virtual StatusOr<Tensor> RecvFrom(int src, int tag) = 0;
  // Sends to `dst` and receives from `src` at once (Communicator::SendRecv).
  virtual StatusOr<Tensor> SendRecvWith(const Tensor& tensor, int dst, int src, int tag) = 0;
};

// Binomial tree from `root`: ceil(log2 n) steps.
Status P2pBroadcast(PointToPoint& p2p, Tensor& tensor, int root, int tag);

// Two ranks: one exchange of the whole tensor (both add the same two values, so both end with identical
// bits). More: a ring, reduce-scatter then all-gather of n chunks (2(n-1) exchanges, each rank sending
// and receiving 2(n-1)/n of the tensor; each chunk is summed on one rank and copied to the others, so
// every rank ends with identical bits), after one exchange of shapes with the neighbours so that every
// disagreement is caught. float32, float64, int32, int64.
Status P2pAllReduceSum(PointToPoint& p2p, Tensor& tensor, int tag);

// Every rank's part passed around a ring (n - 1 exchanges, each rank sealing and opening n - 1 parts),
// then joined along `axis` on every rank.
StatusOr<Tensor> P2pAllGather(PointToPoint& p2p, const Tensor& tensor, int64_t axis, int tag);

}  // namespace tessera
