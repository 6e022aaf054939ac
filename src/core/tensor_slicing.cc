// Axis slicing and concatenation by contiguous block copies.
#include "core/tensor_slicing.h"

#include <cstring>

namespace tessera {

namespace {

// Elements before `axis` (outer), and bytes of one step along it (inner block).
void AxisGeometry(const Shape& shape, int64_t axis, DType dtype, int64_t& outer, size_t& inner_bytes) {
  outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[static_cast<size_t>(d)];
  int64_t inner = 1;
  for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
  inner_bytes = static_cast<size_t>(inner) * DTypeSize(dtype);
}

}  // namespace

StatusOr<Tensor> SliceAlongAxis(const Tensor& t, int64_t axis, int64_t begin, int64_t end) {
  if (axis < 0 || axis >= t.rank()) return InvalidArgument("slice axis " + std::to_string(axis) + " of a rank-" + std::to_string(t.rank()) + " tensor");
  int64_t dim = t.dim(axis);
  if (begin < 0 || end < begin || end > dim) {
    return InvalidArgument("slice [" + std::to_string(begin) + ", " + std::to_string(end) + ") of a dim of " + std::to_string(dim));
  }
  if (t.dtype() == DType::kString) return Unimplemented("slicing string tensors");
  Shape shape = t.shape();
  shape[static_cast<size_t>(axis)] = end - begin;
  int64_t outer;
  size_t inner_bytes;
  AxisGeometry(t.shape(), axis, t.dtype(), outer, inner_bytes);
  if (outer == 1) {  // one contiguous run: share the memory
    return Tensor(t.dtype(), std::move(shape), t.buffer(), t.offset() + static_cast<size_t>(begin) * inner_bytes);
  }
  TS_ASSIGN_OR_RETURN(Tensor out, Tensor::AllocateUninitialized(t.dtype(), shape));
  const char* src = static_cast<const char*>(t.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  size_t run = static_cast<size_t>(end - begin) * inner_bytes, stride = static_cast<size_t>(dim) * inner_bytes;
  for (int64_t o = 0; o < outer && run > 0; ++o) {
    std::memcpy(dst + static_cast<size_t>(o) * run, src + static_cast<size_t>(o) * stride + static_cast<size_t>(begin) * inner_bytes, run);
  }
  return out;
}

StatusOr<Tensor> ConcatAlongAxis(const std::vector<Tensor>& parts, int64_t axis) {
  if (parts.empty()) return InvalidArgument("concatenation of no tensors");
  const Tensor& first = parts[0];
  if (axis < 0 || axis >= first.rank()) return InvalidArgument("concat axis " + std::to_string(axis) + " of a rank-" + std::to_string(first.rank()) + " tensor");
  if (first.dtype() == DType::kString) return Unimplemented("concatenating string tensors");
  Shape shape = first.shape();
  int64_t total = 0;
  for (const Tensor& p : parts) {
    bool same = p.dtype() == first.dtype() && p.rank() == first.rank();
    for (int64_t d = 0; same && d < first.rank(); ++d) same = d == axis || p.dim(d) == first.dim(d);
    if (!same) {
      return InvalidArgument("cannot concatenate " + std::string(DTypeName(p.dtype())) + ShapeToString(p.shape()) + " with " +
                             DTypeName(first.dtype()) + ShapeToString(first.shape()) + " along axis " + std::to_string(axis));
    }
    total += p.dim(axis);
  }
  shape[static_cast<size_t>(axis)] = total;
  TS_ASSIGN_OR_RETURN(Tensor out, Tensor::AllocateUninitialized(first.dtype(), shape));
  int64_t outer;
  size_t inner_bytes;
  AxisGeometry(shape, axis, first.dtype(), outer, inner_bytes);
  char* dst = static_cast<char*>(out.raw_data());
  size_t out_stride = static_cast<size_t>(total) * inner_bytes, offset = 0;
  for (const Tensor& p : parts) {
    size_t run = static_cast<size_t>(p.dim(axis)) * inner_bytes;
    const char* src = static_cast<const char*>(p.raw_data());
    for (int64_t o = 0; o < outer && run > 0; ++o) {
      std::memcpy(dst + static_cast<size_t>(o) * out_stride + offset, src + static_cast<size_t>(o) * run, run);
    }
    offset += run;
  }
  return out;
}

std::vector<int64_t> EvenSplit(int64_t count, int parts) {
  std::vector<int64_t> sizes(static_cast<size_t>(parts), count / parts);
  for (int64_t i = 0; i < count % parts; ++i) ++sizes[static_cast<size_t>(i)];
  return sizes;
}

}  // namespace tessera
