// Small helpers shared by kernels: axis normalisation, numpy broadcasting, reading shape-like inputs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/kernel.h"

namespace tessera {

// Maps a possibly negative `axis` into [0, rank); fails when out of range.
StatusOr<int64_t> NormalizeAxis(int64_t axis, int64_t rank, const char* what = "axis");

// Numpy-style broadcast of two shapes; fails naming both shapes when incompatible.
StatusOr<Shape> BroadcastShapes(const Shape& a, const Shape& b);

// Row-major strides of `shape` (in elements).
std::vector<int64_t> ContiguousStrides(const Shape& shape);

// Strides to read a tensor of `shape` as if it had `out_shape` (broadcast dims get stride 0).
// Requires `shape` to broadcast to `out_shape`.
std::vector<int64_t> BroadcastStrides(const Shape& shape, const Shape& out_shape);

// Reads an int32 or int64 tensor (e.g. a Reshape shape, Slice starts) as int64 values.
StatusOr<std::vector<int64_t>> ReadInt64Values(const Tensor& t, const char* what);
// Reads a float/double/float16 tensor as floats (Resize scales and similar).
StatusOr<std::vector<float>> ReadFloatValues(const Tensor& t, const char* what);

// Calls fn(out_index, a_index, b_index) for every element of a binary broadcast, walking the
// output in row-major order. Fast paths (same shape, scalar operand) are left to callers.
template <typename F>
void ForEachBroadcast2(const Shape& out_shape, const std::vector<int64_t>& a_strides,
                       const std::vector<int64_t>& b_strides, F&& fn) {
  const size_t rank = out_shape.size();
  const int64_t total = ShapeElementCount(out_shape);
  if (total <= 0) return;
  if (rank == 0) {
    fn(int64_t{0}, int64_t{0}, int64_t{0});
    return;
  }
  std::vector<int64_t> index(rank, 0);
  int64_t a = 0, b = 0;
  const int64_t inner = out_shape[rank - 1];
  const int64_t a_inner = a_strides[rank - 1], b_inner = b_strides[rank - 1];
  for (int64_t o = 0; o < total; o += inner) {
    for (int64_t k = 0; k < inner; ++k) fn(o + k, a + k * a_inner, b + k * b_inner);
    // Advance the outer index (dims 0..rank-2) like an odometer.
    for (int64_t d = static_cast<int64_t>(rank) - 2; d >= 0; --d) {
      size_t ud = static_cast<size_t>(d);
      ++index[ud];
      a += a_strides[ud];
      b += b_strides[ud];
      if (index[ud] < out_shape[ud]) break;
      a -= a_strides[ud] * out_shape[ud];
      b -= b_strides[ud] * out_shape[ud];
      index[ud] = 0;
    }
  }
}

}  // namespace tessera
