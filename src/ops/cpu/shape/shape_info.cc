// Shape and Size: int64 facts about the input's shape (its data is never read).
//
// Shape-15 adds `start`/`end`, clamped into [0, rank] after adding rank to negatives. The executor folds
// Shape of values whose shape the model fixes before anything runs; this kernel covers the rest.
#include <algorithm>
#include <vector>

#include "ops/cpu/shape/shape_kernels.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

Status RunShape(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = x.rank();
  int64_t start = ctx.opset() >= 15 ? ctx.node().GetInt("start", 0) : 0;
  int64_t end = ctx.opset() >= 15 ? ctx.node().GetInt("end", rank) : rank;
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, DType::kInt64, {end - start}));
  std::copy(x.shape().begin() + start, x.shape().begin() + end, y->data<int64_t>());
  return Status::Ok();
}

Status RunSize(KernelContext& ctx) {
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, DType::kInt64, {}));
  *y->data<int64_t>() = ctx.input(0).element_count();
  return Status::Ok();
}

}  // namespace

void RegisterShapeInfoKernels(KernelRegistry& registry) {
  registry.Register("Shape", 1, kLatestOpset, MakeFunctionKernel(RunShape));
  registry.Register("Size", 1, kLatestOpset, MakeFunctionKernel(RunSize));
}

}  // namespace tessera
