// Expand and Tile: repeating the input, by broadcasting (Expand) or by whole copies (Tile).
//
// Both are one strided gather: Expand reads broadcast dims with stride 0; Tile walks the output as
// [r0, d0, r1, d1, ...] with stride 0 on each repeat dim, so the innermost dim still copies runs.
// Tile-1 took a scalar `tiles` count and an `axis` as inputs; Tile-6 takes one repeat per dim.
#include <string>
#include <vector>

#include "ops/cpu/shape/shape_kernels.h"
#include "ops/cpu/common/strided_copy.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

Status RunExpand(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (!ctx.has_input(1)) return KernelContext::Error("input 'shape' is missing");
  TS_ASSIGN_OR_RETURN(std::vector<int64_t> requested, ReadInt64Values(ctx.input(1), "input 'shape'"));
  for (int64_t d : requested) {
    if (d < 0) return KernelContext::Error("input 'shape' " + ShapeToString(requested) + " has a negative dim");
  }
  auto shape = BroadcastShapes(x.shape(), requested);
  if (!shape.ok()) {
    return KernelContext::Error("cannot expand input of shape " + ShapeToString(x.shape()) + " to " +
                                ShapeToString(requested));
  }
  if (*shape == x.shape()) {
    ctx.SetOutput(0, x);
    return Status::Ok();
  }
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, x.dtype(), *shape));
  if (y->element_count() == 0) return Status::Ok();
  return GatherStrided(x.dtype(), x.raw_data(), BroadcastStrides(x.shape(), *shape), y->raw_data(), *shape, ctx.pool());
}

// One repeat count per dim, from Tile-6's `repeats` or Tile-1's (tiles, axis) pair.
StatusOr<std::vector<int64_t>> TileRepeats(KernelContext& ctx, int64_t rank) {
  if (!ctx.has_input(1)) return KernelContext::Error("input 'repeats' is missing");
  TS_ASSIGN_OR_RETURN(std::vector<int64_t> values, ReadInt64Values(ctx.input(1), "input 'repeats'"));
  if (ctx.opset() < 6) {
    if (!ctx.has_input(2) || values.size() != 1)
      return KernelContext::Error("Tile-1 needs scalar 'tiles' and 'axis' inputs");
    TS_ASSIGN_OR_RETURN(std::vector<int64_t> axis_value, ReadInt64Values(ctx.input(2), "input 'axis'"));
    if (axis_value.size() != 1) return KernelContext::Error("input 'axis' must hold one value");
    TS_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_value[0], rank, "input 'axis'"));
    std::vector<int64_t> repeats(static_cast<size_t>(rank), 1);
    repeats[static_cast<size_t>(axis)] = values[0];
    values = repeats;
  }
  if (static_cast<int64_t>(values.size()) != rank) {
    return KernelContext::Error("input 'repeats' has " + std::to_string(values.size()) +
                                " entries for an input of rank " + std::to_string(rank));
  }
  for (int64_t r : values) {
    if (r < 0) return KernelContext::Error("input 'repeats' " + ShapeToString(values) + " has a negative entry");
  }
  return values;
}

Status RunTile(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  TS_ASSIGN_OR_RETURN(std::vector<int64_t> repeats, TileRepeats(ctx, x.rank()));
  const std::vector<int64_t> strides = ContiguousStrides(x.shape());
  Shape out_shape, view;
  std::vector<int64_t> view_strides;
  for (size_t d = 0; d < repeats.size(); ++d) {
    int64_t dim = 0;
    if (__builtin_mul_overflow(x.shape()[d], repeats[d], &dim)) {
      return KernelContext::Error("input 'repeats' " + ShapeToString(repeats) + " overflows the shape of input " +
                                  ShapeToString(x.shape()));
    }
    out_shape.push_back(dim);
    view.insert(view.end(), {repeats[d], x.shape()[d]});
    view_strides.insert(view_strides.end(), {0, strides[d]});
  }
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, x.dtype(), out_shape));
  if (y->element_count() == 0) return Status::Ok();
  return GatherStrided(x.dtype(), x.raw_data(), view_strides, y->raw_data(), view, ctx.pool());
}

}  // namespace

void RegisterExpandTileKernels(KernelRegistry& registry) {
  registry.Register("Expand", 8, kLatestOpset, MakeFunctionKernel(RunExpand));
  registry.Register("Tile", 1, kLatestOpset, MakeFunctionKernel(RunTile));
}

}  // namespace tessera
