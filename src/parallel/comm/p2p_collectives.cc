// Broadcast, all-reduce and all-gather over Send/Recv.
#include "parallel/comm/p2p_collectives.h"

#include <cstring>
#include <vector>

#include "core/tensor_slicing.h"

namespace tessera {

namespace {

// An empty 1-D uint8 tensor: "some rank failed this collective". uint8 is never summed, so no all-reduce
// operand looks like it; the one valid all-gather it shadows (empty 1-D uint8 parts) is refused.
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

// Sends `out` to and receives from `peer`, the lower rank sending first.
StatusOr<Tensor> Exchange(PointToPoint& p2p, const Tensor& out, int peer, int tag) {
  if (p2p.rank() < peer) {
    TS_RETURN_IF_ERROR(p2p.SendTo(out, peer, tag));
    return p2p.RecvFrom(peer, tag);
  }
  TS_ASSIGN_OR_RETURN(Tensor in, p2p.RecvFrom(peer, tag));
  TS_RETURN_IF_ERROR(p2p.SendTo(out, peer, tag));
  return in;
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
  const int n = p2p.size(), me = p2p.rank();
  Status failure = CheckSummable(tensor.dtype());
  if ((n & (n - 1)) == 0) {
    for (int mask = 1; mask < n; mask <<= 1) {
      TS_ASSIGN_OR_RETURN(Tensor in, Exchange(p2p, failure.ok() ? tensor : Poison(), me ^ mask, tag));
      if (!failure.ok()) continue;
      if (IsPoison(in)) {
        failure = InvalidArgument("another rank could not take part in the all-reduce");
      } else if (in.dtype() != tensor.dtype() || in.shape() != tensor.shape()) {
        failure = Disagree(tensor, in);
      } else {
        Add(tensor, in);
      }
    }
    return failure;
  }
  // Any other size: the sum on rank 0, in rank order, then back to every rank.
  Tensor result;
  if (me == 0) {
    Tensor& sum = tensor;  // in place: the caller's buffer may be planned memory that others read
    for (int r = 1; r < n; ++r) {
      TS_ASSIGN_OR_RETURN(Tensor in, p2p.RecvFrom(r, tag));
      if (!failure.ok()) continue;
      if (IsPoison(in)) failure = InvalidArgument("another rank could not take part in the all-reduce");
      else if (in.dtype() != sum.dtype() || in.shape() != sum.shape()) failure = Disagree(sum, in);
      else Add(sum, in);
    }
    result = failure.ok() ? sum : Poison();
  } else {
    TS_RETURN_IF_ERROR(p2p.SendTo(failure.ok() ? tensor : Poison(), 0, tag));
  }
  TS_RETURN_IF_ERROR(P2pBroadcast(p2p, result, 0, tag));
  if (!failure.ok()) return failure;
  if (IsPoison(result)) return InvalidArgument("the ranks' all-reduce operands differ or another rank failed");
  if (result.dtype() != tensor.dtype() || result.shape() != tensor.shape()) return Disagree(tensor, result);
  if (me != 0) std::memcpy(tensor.raw_data(), result.raw_data(), tensor.byte_size());
  return Status::Ok();
}

StatusOr<Tensor> P2pAllGather(PointToPoint& p2p, const Tensor& tensor, int64_t axis, int tag) {
  if (axis < 0 || axis >= tensor.rank()) {
    return InvalidArgument("all-gather axis " + std::to_string(axis) + " of a rank-" + std::to_string(tensor.rank()) + " tensor");
  }
  const int n = p2p.size();
  Tensor joined;
  if (p2p.rank() == 0) {
    std::vector<Tensor> parts = {tensor};
    for (int r = 1; r < n; ++r) {
      TS_ASSIGN_OR_RETURN(Tensor in, p2p.RecvFrom(r, tag));
      parts.push_back(std::move(in));
    }
    StatusOr<Tensor> concat = ConcatAlongAxis(parts, axis);
    joined = concat.ok() ? std::move(concat).value() : Poison();
  } else {
    TS_RETURN_IF_ERROR(p2p.SendTo(tensor, 0, tag));
  }
  TS_RETURN_IF_ERROR(P2pBroadcast(p2p, joined, 0, tag));
  if (IsPoison(joined)) return InvalidArgument("all-gather over parts that do not join along axis " + std::to_string(axis));
  return joined;
}

}  // namespace tessera
