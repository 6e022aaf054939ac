// Shared pieces of the indexing kernels (Gather*, Scatter*, TopK, NonZero, OneHot, Compress, Unique,
// ReverseSequence, NonMaxSuppression): index validation, the [outer, axis, inner] view of a tensor, and
// the per-file registration hooks that indexing.cc calls.
//
// Index tensors come from the model or the caller, so every index is checked against its dim before it
// is used to address memory; a bad one becomes an error naming the value and its position.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "ops/dispatch.h"
#include "ops/kernel.h"
#include "ops/op_helpers.h"
#include "ops/registry.h"

namespace tessera {

// Registration hooks, one per indexing_*.cc file.
void RegisterGatherKernels(KernelRegistry& registry);       // Gather, GatherElements, GatherND
void RegisterScatterKernels(KernelRegistry& registry);      // Scatter, ScatterElements, ScatterND
void RegisterTopKKernels(KernelRegistry& registry);         // TopK
void RegisterSelectionKernels(KernelRegistry& registry);    // NonZero, Compress, OneHot
void RegisterUniqueKernels(KernelRegistry& registry);       // Unique
void RegisterReverseSequenceKernels(KernelRegistry& registry);  // ReverseSequence
void RegisterNmsKernels(KernelRegistry& registry);          // NonMaxSuppression
void RegisterTensorScatterKernels(KernelRegistry& registry);  // TensorScatter

// Dims of `shape` before, at and after `axis`.
struct IndexAxisSplit {
  int64_t outer = 1, axis = 1, inner = 1;
};

inline IndexAxisSplit SplitShapeAt(const Shape& shape, int64_t axis) {
  IndexAxisSplit s;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    const int64_t n = shape[static_cast<size_t>(d)];
    if (d < axis) s.outer *= n;
    else if (d == axis) s.axis = n;
    else s.inner *= n;
  }
  return s;
}

// The message for an index outside [-dim, dim).
inline Status IndexOutOfRange(const char* what, int64_t value, int64_t position, int64_t dim) {
  return KernelContext::Error(std::string(what) + " value " + std::to_string(value) + " at position " +
                              std::to_string(position) + " is out of range [" + std::to_string(-dim) + ", " +
                              std::to_string(dim) + ")");
}

// GatherElements/ScatterElements: `indices` has the rank of `data` and fits inside it on every dim but
// `axis`. Returns the normalised axis.
inline StatusOr<int64_t> CheckElementIndicesShape(const Tensor& data, const Tensor& indices, int64_t axis_attr) {
  if (indices.rank() != data.rank()) {
    return KernelContext::Error("input 'indices' must have the rank of 'data' (" + std::to_string(data.rank()) +
                                "), got shape " + ShapeToString(indices.shape()));
  }
  TS_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_attr, data.rank(), "attribute 'axis'"));
  for (int64_t d = 0; d < data.rank(); ++d) {
    if (d != axis && indices.dim(d) > data.dim(d)) {
      return KernelContext::Error("input 'indices' shape " + ShapeToString(indices.shape()) + " exceeds 'data' shape " +
                                  ShapeToString(data.shape()) + " in dim " + std::to_string(d));
    }
  }
  return axis;
}

// Reads an int32/int64 index tensor into int64 values in [0, dim), wrapping negative ones (numpy style).
// Fails on another dtype or on any value outside [-dim, dim).
inline StatusOr<std::vector<int64_t>> ReadNormalizedIndices(const Tensor& indices, int64_t dim, const char* what) {
  const int64_t n = indices.element_count();
  std::vector<int64_t> out(static_cast<size_t>(n));
  auto convert = [&](const auto* p) -> Status {
    for (int64_t i = 0; i < n; ++i) {
      int64_t v = static_cast<int64_t>(p[i]);
      if (v < -dim || v >= dim) return IndexOutOfRange(what, v, i, dim);
      out[static_cast<size_t>(i)] = v < 0 ? v + dim : v;
    }
    return Status::Ok();
  };
  Status st;
  if (indices.dtype() == DType::kInt64) st = convert(indices.data<int64_t>());
  else if (indices.dtype() == DType::kInt32) st = convert(indices.data<int32_t>());
  else return KernelContext::Error(std::string(what) + " must be int32 or int64, got " + DTypeName(indices.dtype()));
  if (!st.ok()) return st;
  return out;
}

// Copies `count` elements; strings element by element, everything else as bytes.
template <typename T>
inline void CopyElements(const T* src, T* dst, int64_t count) {
  if constexpr (std::is_same_v<T, std::string>) {
    for (int64_t i = 0; i < count; ++i) dst[i] = src[i];
  } else {
    if (count > 0) std::memcpy(dst, src, static_cast<size_t>(count) * sizeof(T));
  }
}

// A KernelFactory for a kernel constructed from the node alone.
template <typename K>
KernelFactory MakeNodeKernelFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<K>(init.node));
  };
}

}  // namespace tessera
