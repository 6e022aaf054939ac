// Slice: a strided window of the input.
//
// Opsets 1-9 read starts/ends/axes from attributes; from 10 they are inputs, with optional steps (which
// may be negative). Starts and ends are clamped as numpy does, so INT64_MAX means "to the end" and
// INT64_MIN "past the front" for a negative step. A window that is one contiguous block of the input
// (e.g. leading rows) is returned as a view at an offset into the input's buffer, with no copy.
#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "ops/cpu/shape/shape_kernels.h"
#include "ops/cpu/common/strided_copy.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

struct SliceParams {
  std::vector<int64_t> starts, ends, axes, steps;
};

StatusOr<SliceParams> ReadSliceParams(KernelContext& ctx, int64_t rank) {
  SliceParams p;
  if (ctx.opset() < 10) {
    p.starts = ctx.node().GetInts("starts");
    p.ends = ctx.node().GetInts("ends");
    p.axes = ctx.node().GetInts("axes");
  } else {
    if (!ctx.has_input(1) || !ctx.has_input(2)) return KernelContext::Error("inputs 'starts' and 'ends' are required");
    TS_ASSIGN_OR_RETURN(p.starts, ReadInt64Values(ctx.input(1), "input 'starts'"));
    TS_ASSIGN_OR_RETURN(p.ends, ReadInt64Values(ctx.input(2), "input 'ends'"));
    if (ctx.has_input(3)) {
      TS_ASSIGN_OR_RETURN(p.axes, ReadInt64Values(ctx.input(3), "input 'axes'"));
    }
    if (ctx.has_input(4)) {
      TS_ASSIGN_OR_RETURN(p.steps, ReadInt64Values(ctx.input(4), "input 'steps'"));
    }
  }
  const size_t n = p.starts.size();
  if (p.axes.empty()) {
    for (size_t i = 0; i < n; ++i) p.axes.push_back(static_cast<int64_t>(i));
  }
  if (p.steps.empty()) p.steps.assign(n, 1);
  if (p.ends.size() != n || p.axes.size() != n || p.steps.size() != n || static_cast<int64_t>(n) > rank) {
    return KernelContext::Error("starts, ends, axes and steps have " + std::to_string(n) + ", " +
                                std::to_string(p.ends.size()) + ", " + std::to_string(p.axes.size()) + " and " +
                                std::to_string(p.steps.size()) + " entries for an input of rank " +
                                std::to_string(rank));
  }
  return p;
}

Status RunSlice(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = x.rank();
  TS_ASSIGN_OR_RETURN(SliceParams p, ReadSliceParams(ctx, rank));
  const std::vector<int64_t> in_strides = ContiguousStrides(x.shape());
  Shape out_shape = x.shape();
  std::vector<int64_t> starts(static_cast<size_t>(rank), 0), steps(static_cast<size_t>(rank), 1);
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (size_t i = 0; i < p.starts.size(); ++i) {
    TS_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(p.axes[i], rank, "slice axis"));
    const size_t a = static_cast<size_t>(axis);
    if (seen[a]) return KernelContext::Error("slice axis " + std::to_string(p.axes[i]) + " is repeated");
    seen[a] = true;
    const int64_t dim = x.dim(axis);
    int64_t step = p.steps[i];
    if (step == 0) return KernelContext::Error("slice step for axis " + std::to_string(p.axes[i]) + " is 0");
    // A step as long as the axis selects at most one element, so clamping it keeps the arithmetic in range.
    step = std::clamp<int64_t>(step, -std::max<int64_t>(dim, 1), std::max<int64_t>(dim, 1));
    int64_t start = p.starts[i], end = p.ends[i];
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    int64_t count;
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      count = end > start ? (end - start + step - 1) / step : 0;
    } else {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
      count = start > end ? (start - end + (-step) - 1) / (-step) : 0;
    }
    starts[a] = count > 0 ? start : 0;
    steps[a] = step;
    out_shape[a] = count;
  }
  int64_t offset = 0;
  std::vector<int64_t> src_strides(static_cast<size_t>(rank));
  for (size_t d = 0; d < static_cast<size_t>(rank); ++d) {
    offset += starts[d] * in_strides[d];
    src_strides[d] = in_strides[d] * steps[d];
  }
  // Contiguous window: trailing dims whole, then at most one partial dim with step 1, then only dims of 1.
  bool contiguous = true;
  bool partial_seen = false;
  for (size_t d = static_cast<size_t>(rank); d-- > 0;) {
    const bool whole = out_shape[d] == x.dim(static_cast<int64_t>(d)) && steps[d] == 1;
    if (partial_seen) {
      contiguous &= out_shape[d] == 1;
    } else if (!whole) {
      partial_seen = true;
      contiguous &= steps[d] == 1 || out_shape[d] <= 1;
    }
  }
  const int64_t count = ShapeElementCount(out_shape);
  if (contiguous && count > 0 && x.buffer() != nullptr) {
    ctx.SetOutput(
        0, Tensor(x.dtype(), out_shape, x.buffer(), x.offset() + static_cast<size_t>(offset) * DTypeSize(x.dtype())));
    return Status::Ok();
  }
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, x.dtype(), out_shape));
  if (count == 0) return Status::Ok();
  const char* src = static_cast<const char*>(x.raw_data()) + static_cast<size_t>(offset) * DTypeSize(x.dtype());
  return GatherStrided(x.dtype(), src, src_strides, y->raw_data(), out_shape, ctx.pool());
}

}  // namespace

void RegisterSliceKernels(KernelRegistry& registry) {
  registry.Register("Slice", 1, kLatestOpset, MakeFunctionKernel(RunSlice));
}

}  // namespace tessera
