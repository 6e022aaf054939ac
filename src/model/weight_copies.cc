// Weight copies: each deferred weight, a shard of one, or a weight into its own pages; source pages dropped.
#include "model/weight_copies.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/resident_pages.h"
#include "model/external_data.h"

namespace tessera {

namespace {

// Copied in pieces whose file pages are dropped as soon as they are copied, so the copy does not hold the
// weight twice at its peak.
constexpr size_t kCopyPieceBytes = size_t{4} << 20;

// Uninitialized memory for a weight of `shape`: pages of its own from kWeightPagesMinBytes up.
StatusOr<Tensor> AllocateWeight(DType dtype, const Shape& shape) {
  const int64_t count = ShapeElementCount(shape);
  if (count < 0) return InvalidArgument("a weight of shape " + ShapeToString(shape));
  const size_t bytes = static_cast<size_t>(count) * DTypeSize(dtype);
  if (bytes < kWeightPagesMinBytes) return Tensor::AllocateUninitialized(dtype, shape);
  return AllocateWeightPages(dtype, shape);
}

}  // namespace

StatusOr<Tensor> SliceWeightToOwnMemory(const Tensor& t, int64_t axis, int64_t begin, int64_t end) {
  if (axis < 0 || axis >= t.rank()) {
    return InvalidArgument("slice axis " + std::to_string(axis) + " of a rank-" + std::to_string(t.rank()) + " weight");
  }
  const int64_t dim = t.dim(axis);
  if (begin < 0 || end < begin || end > dim) {
    return InvalidArgument("slice [" + std::to_string(begin) + ", " + std::to_string(end) + ") of a dim of " +
                           std::to_string(dim));
  }
  if (t.dtype() == DType::kString) return Unimplemented("slicing string weights");
  Shape shape = t.shape();
  shape[static_cast<size_t>(axis)] = end - begin;
  TS_ASSIGN_OR_RETURN(Tensor out, AllocateWeight(t.dtype(), shape));
  int64_t outer = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= t.dim(i);
  size_t inner_bytes = DTypeSize(t.dtype());
  for (int64_t i = axis + 1; i < t.rank(); ++i) inner_bytes *= static_cast<size_t>(t.dim(i));
  const size_t run = static_cast<size_t>(end - begin) * inner_bytes, stride = static_cast<size_t>(dim) * inner_bytes;
  const char* source = static_cast<const char*>(t.raw_data());
  char* target = static_cast<char*>(out.raw_data());
  size_t dropped = 0;  // the source's bytes before this are no longer resident
  for (int64_t o = 0; o < outer && run > 0; ++o) {
    const size_t from = static_cast<size_t>(o) * stride;
    std::memcpy(target + static_cast<size_t>(o) * run, source + from + static_cast<size_t>(begin) * inner_bytes, run);
    if (from + stride - dropped >= kCopyPieceBytes) {
      DropResidentPages(source + dropped, from + stride - dropped);
      dropped = from + stride;
    }
  }
  DropResidentPages(source + dropped, t.byte_size() - dropped);
  return out;
}

StatusOr<Tensor> CopyWeightToOwnMemory(const Tensor& t) {
  const size_t bytes = t.byte_size();
  if (bytes < kWeightPagesMinBytes) return t.Clone();
  TS_ASSIGN_OR_RETURN(Tensor out, AllocateWeight(t.dtype(), t.shape()));
  void* data = out.raw_data();
  const char* source = static_cast<const char*>(t.raw_data());
  for (size_t done = 0; done < bytes; done += kCopyPieceBytes) {
    const size_t piece = std::min(kCopyPieceBytes, bytes - done);
    std::memcpy(static_cast<char*>(data) + done, source + done, piece);
    DropResidentPages(source + done, piece);
  }
  return out;
}

StatusOr<size_t> CopyDeferredWeights(Graph& graph) {
  size_t copied = 0;
  for (auto& [id, t] : graph.constants) {
    if (!t.defined() || t.dtype() == DType::kString || t.byte_size() == 0) continue;
    const bool aligned = reinterpret_cast<uintptr_t>(t.raw_data()) % DTypeSize(t.dtype()) == 0;
    if (aligned && !IsModelFileData(t.raw_data(), t.byte_size())) continue;
    auto copy = CopyWeightToOwnMemory(t);
    if (!copy.ok()) return copy.status().WithContext("copying weight '" + graph.value(id).name + "'");
    const void* source = t.raw_data();
    const size_t bytes = t.byte_size();
    t = std::move(copy).value();
    DropResidentPages(source, bytes);
    copied += bytes;
  }
  return copied;
}

}  // namespace tessera
