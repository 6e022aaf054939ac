// Broadcast, all-reduce and all-gather over Send/Recv.
#include "parallel/comm/p2p_collectives.h"

#include <cstring>
#include <string>
#include <vector>

#include "core/tensor_slicing.h"
#include "parallel/comm/tensor_wire.h"

namespace tessera {

namespace {

// An empty 1-D uint8 tensor: "some rank failed this all-reduce". uint8 is never summed, so no operand
// looks like it.
Tensor Poison() { return Tensor::Allocate(DType::kUInt8, {0}).value(); }
bool IsPoison(const Tensor& t) { return t.dtype() == DType::kUInt8 && t.rank() == 1 && t.dim(0) == 0; }

Status Disagree(const Tensor& mine, const Tensor& theirs) {
  return InvalidArgument("all-reduce over tensors that differ: " + ShapeToString(mine.shape()) + " " + DTypeName(mine.dtype()) +
                         " vs " + ShapeToString(theirs.shape()) + " " + DTypeName(theirs.dtype()));
}

Status CheckSummable(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: case DType::kFloat64: case DType::kInt32: case DType::kInt64: return Status::Ok();
    default: return Unimplemented(std::string("all-reduce of ") + DTypeName(dtype) + " tensors");
  }
}

template <typename T>
void AddInto(Tensor& dst, const Tensor& src) {
  T* d = dst.data<T>();
  const T* s = src.data<T>();
  const int64_t n = dst.element_count();
  for (int64_t i = 0; i < n; ++i) d[i] += s[i];
}

void Add(Tensor& dst, const Tensor& src) {
  switch (dst.dtype()) {
    case DType::kFloat32: AddInto<float>(dst, src); break;
    case DType::kFloat64: AddInto<double>(dst, src); break;
    case DType::kInt32: AddInto<int32_t>(dst, src); break;
    default: AddInto<int64_t>(dst, src); break;  // CheckSummable admitted nothing else
  }
}

constexpr char kOtherRankFailed[] = "another rank could not take part in the all-reduce";

// Chunk `c` of `n` of a tensor's elements, as a 1-D view over its buffer (writes go to the tensor).
Tensor Chunk(const Tensor& t, int c, int n) {
  const int64_t elements = t.element_count(), begin = elements * c / n, end = elements * (c + 1) / n;
  if (begin == end) return Tensor::Allocate(t.dtype(), {0}).value();  // no view over a possibly empty buffer
  return Tensor(t.dtype(), {end - begin}, t.buffer(), t.offset() + static_cast<size_t>(begin) * DTypeSize(t.dtype()));
}

// Whether `in` is the chunk `expected` stands for: "" when it is, else what is wrong.
std::string ChunkMismatch(const Tensor& in, const Tensor& expected, int src) {
  if (in.dtype() == expected.dtype() && in.rank() == 1 && in.dim(0) == expected.dim(0)) return "";
  return "rank " + std::to_string(src) + " sent an all-reduce chunk of " + ShapeToString(in.shape()) + " " +
         DTypeName(in.dtype()) + ", expected " + ShapeToString(expected.shape()) + " " + DTypeName(expected.dtype());
}

Status PairAllReduceSum(PointToPoint& p2p, Tensor& tensor, int tag) {
  const int peer = 1 - p2p.rank();
  const Status failure = CheckSummable(tensor.dtype());
  TS_ASSIGN_OR_RETURN(Tensor in, p2p.SendRecvWith(failure.ok() ? tensor : Poison(), peer, peer, tag));
  if (!failure.ok()) return failure;
  if (IsPoison(in)) return InvalidArgument(kOtherRankFailed);
  if (in.dtype() != tensor.dtype() || in.shape() != tensor.shape()) return Disagree(tensor, in);
  Add(tensor, in);
  return Status::Ok();
}

// Step 0 of the ring: each rank compares its dtype and shape with its left neighbour's. Neighbours that
// all agree mean every rank agrees; a rank that finds a difference poisons the chunks it sends next, and
// 2(n-1) exchanges carry that to every rank.
Status RingAgree(PointToPoint& p2p, const Tensor& tensor, Status failure, int next, int prev, int tag) {
  const std::vector<int64_t> words = EncodeTensorHeader(tensor);
  const Tensor mine = Tensor::FromVector<int64_t>(DType::kInt64, {static_cast<int64_t>(words.size())}, words);
  TS_ASSIGN_OR_RETURN(Tensor theirs, p2p.SendRecvWith(failure.ok() ? mine : Poison(), next, prev, tag));
  if (!failure.ok()) return failure;
  if (IsPoison(theirs)) return InvalidArgument(kOtherRankFailed);
  if (theirs.dtype() == DType::kInt64 && theirs.shape() == mine.shape() &&
      std::memcmp(theirs.raw_data(), mine.raw_data(), mine.byte_size()) == 0) {
    return Status::Ok();
  }
  StatusOr<TensorHeader> header = theirs.dtype() == DType::kInt64 && theirs.rank() == 1
                                      ? DecodeTensorHeader(theirs.data<int64_t>(), static_cast<int>(theirs.dim(0)))
                                      : StatusOr<TensorHeader>(InvalidArgument("not a tensor header"));
  if (!header.ok()) return header.status().WithContext("all-reduce shapes from rank " + std::to_string(prev));
  return InvalidArgument("all-reduce over tensors that differ: " + ShapeToString(tensor.shape()) + " " +
                         DTypeName(tensor.dtype()) + " vs " + ShapeToString(header->shape) + " " +
                         DTypeName(header->dtype) + " on rank " + std::to_string(prev));
}

Status RingAllReduceSum(PointToPoint& p2p, Tensor& tensor, int tag) {
  const int n = p2p.size(), me = p2p.rank(), next = (me + 1) % n, prev = (me + n - 1) % n;
  Status failure = RingAgree(p2p, tensor, CheckSummable(tensor.dtype()), next, prev, tag);
  // Reduce-scatter: at step s this rank passes on its partial sum of chunk me - s and adds its own values
  // to chunk me - s - 1; after n - 1 steps it holds the whole sum of chunk me + 1. All-gather: each
  // rank passes the finished chunks on around the ring.
  for (int step = 0; step < 2 * (n - 1); ++step) {
    const bool reducing = step < n - 1;
    const int s = reducing ? step : step - (n - 1);
    const int out_chunk = ((reducing ? me - s : me + 1 - s) % n + n) % n;
    const int in_chunk = ((reducing ? me - s - 1 : me - s) % n + n) % n;
    const Tensor out = failure.ok() ? Chunk(tensor, out_chunk, n) : Poison();
    TS_ASSIGN_OR_RETURN(Tensor in, p2p.SendRecvWith(out, next, prev, tag));
    if (!failure.ok()) continue;
    Tensor mine = Chunk(tensor, in_chunk, n);
    const std::string mismatch = IsPoison(in) ? kOtherRankFailed : ChunkMismatch(in, mine, prev);
    if (!mismatch.empty()) {
      failure = InvalidArgument(mismatch);
    } else if (reducing) {
      Add(mine, in);
    } else if (mine.byte_size() > 0) {
      std::memcpy(mine.raw_data(), in.raw_data(), mine.byte_size());
    }
  }
  return failure;
}

}  // namespace

Status P2pBroadcast(PointToPoint& p2p, Tensor& tensor, int root, int tag) {
  const int n = p2p.size();
  if (root < 0 || root >= n) return InvalidArgument("broadcast from rank " + std::to_string(root) + " of " + std::to_string(n));
  const int v = (p2p.rank() - root + n) % n;  // rank relative to the root
  int mask = 1;
  for (; mask < n; mask <<= 1) {
    if (v & mask) {
      TS_ASSIGN_OR_RETURN(tensor, p2p.RecvFrom((v - mask + root) % n, tag));
      break;
    }
  }
  for (mask >>= 1; mask > 0; mask >>= 1) {
    if (v + mask < n) TS_RETURN_IF_ERROR(p2p.SendTo(tensor, (v + mask + root) % n, tag));
  }
  return Status::Ok();
}

Status P2pAllReduceSum(PointToPoint& p2p, Tensor& tensor, int tag) {
  switch (p2p.size()) {
    case 1: return CheckSummable(tensor.dtype());
    case 2: return PairAllReduceSum(p2p, tensor, tag);
    default: return RingAllReduceSum(p2p, tensor, tag);
  }
}

StatusOr<Tensor> P2pAllGather(PointToPoint& p2p, const Tensor& tensor, int64_t axis, int tag) {
  if (axis < 0 || axis >= tensor.rank()) {
    return InvalidArgument("all-gather axis " + std::to_string(axis) + " of a rank-" + std::to_string(tensor.rank()) + " tensor");
  }
  // A ring: at step s each rank passes on the part of rank me - s and receives that of rank me - s - 1.
  // Every rank then holds the same parts in the same order, so the join succeeds or fails alike on all.
  const int n = p2p.size(), me = p2p.rank(), next = (me + 1) % n, prev = (me + n - 1) % n;
  std::vector<Tensor> parts(static_cast<size_t>(n));
  parts[static_cast<size_t>(me)] = tensor;
  for (int s = 0; s < n - 1; ++s) {
    const Tensor& out = parts[static_cast<size_t>(((me - s) % n + n) % n)];
    TS_ASSIGN_OR_RETURN(parts[static_cast<size_t>(((me - s - 1) % n + n) % n)], p2p.SendRecvWith(out, next, prev, tag));
  }
  StatusOr<Tensor> joined = ConcatAlongAxis(parts, axis);
  if (!joined.ok()) return joined.status().WithContext("all-gather along axis " + std::to_string(axis));
  return joined;
}

}  // namespace tessera
