// Broadcast planning: merging dims into long runs (see broadcast.h).
#include "ops/cpu/common/broadcast.h"

namespace tessera {

BroadcastPlan PlanBroadcastTo(const std::vector<Shape>& shapes, const Shape& out_shape) {
  BroadcastPlan plan;
  plan.inputs = shapes.size();
  plan.count = ShapeElementCount(out_shape);
  std::array<std::vector<int64_t>, kMaxBroadcastInputs> strides;
  for (size_t k = 0; k < shapes.size(); ++k) strides[k] = BroadcastStrides(shapes[k], out_shape);

  // Merged dims, innermost first while building: sizes[g] and, per input, the stride of one step of g.
  std::vector<int64_t> sizes;
  std::array<std::vector<int64_t>, kMaxBroadcastInputs> group_strides;
  for (size_t d = out_shape.size(); d-- > 0;) {
    if (out_shape[d] == 1) continue;  // a size-1 dim contributes no steps
    bool merge = !sizes.empty();
    for (size_t k = 0; k < plan.inputs && merge; ++k) {
      merge = strides[k][d] == group_strides[k].back() * sizes.back();
    }
    if (merge) {
      sizes.back() *= out_shape[d];
      continue;
    }
    sizes.push_back(out_shape[d]);
    for (size_t k = 0; k < plan.inputs; ++k) group_strides[k].push_back(strides[k][d]);
  }
  if (sizes.empty()) {  // a single element (or rank 0)
    sizes.push_back(1);
    for (size_t k = 0; k < plan.inputs; ++k) group_strides[k].push_back(0);
  }
  plan.inner = sizes[0];
  for (size_t k = 0; k < plan.inputs; ++k) {
    // The innermost non-1 dim of a right-aligned contiguous input has stride 1 unless broadcast.
    plan.inner_stride[k] = group_strides[k][0];
    plan.outer_strides[k].assign(group_strides[k].rbegin(), group_strides[k].rend() - 1);
  }
  plan.outer_dims.assign(sizes.rbegin(), sizes.rend() - 1);
  return plan;
}

StatusOr<BroadcastPlan> PlanBroadcast(const std::vector<Shape>& shapes, Shape& out_shape) {
  out_shape = shapes.empty() ? Shape{} : shapes[0];
  for (size_t k = 1; k < shapes.size(); ++k) {
    auto merged = BroadcastShapes(out_shape, shapes[k]);
    if (!merged.ok()) {
      std::string list;
      for (const Shape& s : shapes) list += (list.empty() ? "" : ", ") + ShapeToString(s);
      return InvalidArgument("input shapes " + list + " cannot be broadcast together");
    }
    out_shape = std::move(merged).value();
  }
  return PlanBroadcastTo(shapes, out_shape);
}

}  // namespace tessera
