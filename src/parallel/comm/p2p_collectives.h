// Collectives built from point-to-point messages alone, for a transport whose own collectives would
// bypass it (sealed links: MPI_Allreduce would carry plaintext).
//
// Every rank calls the same collective in the same order with the same tag. Exchanges between two ranks
// are ordered (the lower rank sends first), so a transport whose Send blocks until the peer receives
// (MPI's rendezvous for large messages) cannot deadlock. When ranks disagree (shapes, dtypes), every
// rank gets an error instead of some hanging: the disagreement travels on as an empty "poison" message.
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
};

// Binomial tree from `root`: ceil(log2 n) steps.
Status P2pBroadcast(PointToPoint& p2p, Tensor& tensor, int root, int tag);

// Recursive doubling when the size is a power of two (log2 n exchanges of the whole tensor; both ends of
// an exchange add the same two values, so every rank ends with identical bits); otherwise a sum on rank
// 0 in rank order, broadcast back. float32, float64, int32, int64.
Status P2pAllReduceSum(PointToPoint& p2p, Tensor& tensor, int tag);

// Every rank's part joined on rank 0 along `axis`, then broadcast.
StatusOr<Tensor> P2pAllGather(PointToPoint& p2p, const Tensor& tensor, int64_t axis, int tag);

}  // namespace tessera
