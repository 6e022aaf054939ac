// Numpy broadcasting for elementwise kernels with up to three inputs, walked as runs of contiguous
// output elements so the innermost loops have unit or zero input strides and vectorise.
//
// PlanBroadcast drops size-1 output dims and merges adjacent dims that every input reads in the same
// pattern, so [8,16,32] + [32] becomes [128,32] + [32] and same-shape inputs become one flat run.
// ForEachBroadcastRun then splits the output over the thread pool by element range (so one long run is
// split as well as many short ones) and calls fn(out_offset, in_offsets, length) for each run; within
// a run input k advances by plan.inner_stride[k], which is 0 (broadcast) or 1.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "ops/cpu/common/type_class.h"
#include "ops/op_helpers.h"

namespace tessera {

constexpr size_t kMaxBroadcastInputs = 3;

struct BroadcastPlan {
  size_t inputs = 0;
  int64_t count = 0;                        // output elements
  int64_t inner = 1;                        // length of the innermost merged dim
  std::vector<int64_t> outer_dims;          // merged dims outside `inner`, outermost first
  std::array<std::vector<int64_t>, kMaxBroadcastInputs> outer_strides;
  std::array<int64_t, kMaxBroadcastInputs> inner_stride{};  // 0 or 1
};

// Broadcasts `shapes` (1 to 3 of them) together: fills `out_shape` and returns the plan, or an error
// naming the shapes that cannot be broadcast.
StatusOr<BroadcastPlan> PlanBroadcast(const std::vector<Shape>& shapes, Shape& out_shape);

// The plan for reading inputs of `shapes` as `out_shape`, which they must broadcast to (no check).
BroadcastPlan PlanBroadcastTo(const std::vector<Shape>& shapes, const Shape& out_shape);

// Calls fn(out_offset, const int64_t* in_offsets, length) for runs covering the plan's output.
template <typename F>
void ForEachBroadcastRun(const BroadcastPlan& plan, ThreadPool& pool, F&& fn) {
  if (plan.count <= 0) return;
  const size_t rank = plan.outer_dims.size();
  auto chunk = [&](int64_t begin, int64_t end) {
    // Decompose `begin` into an outer index plus a column, then walk runs odometer-style.
    int64_t row = begin / plan.inner, col = begin % plan.inner;
    std::array<int64_t, kMaxBroadcastInputs> offsets{};
    std::vector<int64_t> index(rank, 0);
    for (size_t d = rank; d-- > 0;) {
      index[d] = row % plan.outer_dims[d];
      row /= plan.outer_dims[d];
      for (size_t k = 0; k < plan.inputs; ++k) offsets[k] += index[d] * plan.outer_strides[k][d];
    }
    int64_t pos = begin;
    while (pos < end) {
      const int64_t len = std::min(plan.inner - col, end - pos);
      std::array<int64_t, kMaxBroadcastInputs> at{};
      for (size_t k = 0; k < plan.inputs; ++k) at[k] = offsets[k] + col * plan.inner_stride[k];
      fn(pos, at.data(), len);
      pos += len;
      col = 0;
      for (size_t d = rank; d-- > 0;) {
        for (size_t k = 0; k < plan.inputs; ++k) offsets[k] += plan.outer_strides[k][d];
        if (++index[d] < plan.outer_dims[d]) break;
        for (size_t k = 0; k < plan.inputs; ++k) offsets[k] -= plan.outer_strides[k][d] * plan.outer_dims[d];
        index[d] = 0;
      }
    }
  };
  if (plan.count < kElementwiseParallelThreshold) {
    chunk(0, plan.count);
  } else {
    pool.ParallelFor(plan.count, kElementwiseMinChunk, chunk);
  }
}

// Splits [0, n) over the pool when n is large; fn(begin, end).
template <typename F>
void ForEachElementRange(int64_t n, ThreadPool& pool, F&& fn) {
  if (n <= 0) return;
  if (n < kElementwiseParallelThreshold) {
    fn(int64_t{0}, n);
  } else {
    pool.ParallelFor(n, kElementwiseMinChunk, fn);
  }
}

}  // namespace tessera
