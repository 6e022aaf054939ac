// ControlFlow kernels: If, Loop, Scan (control_flow_{if,loop,scan}.cc), Dropout (control_flow_dropout.cc),
// and here the ones that only pass values along: Identity and the optional ops.
//
// An optional holding a tensor is represented by the tensor itself and an empty optional by an
// undefined tensor (what an omitted optional input reads as). Optionals of sequences are not
// representable: the IR has no sequence values (the conformance runner skips those cases).
#include "ops/cpu/control_flow/control_flow_common.h"
#include "ops/op_list.h"

namespace tessera {

namespace {

Status RunIdentity(KernelContext& ctx) {
  if (!ctx.has_input(0)) return KernelContext::Error("input 'input' is missing");
  ctx.SetOutput(0, ctx.input(0));
  return Status::Ok();
}

// Optional(x) wraps x; Optional() with only a `type` attribute is the empty optional.
Status RunOptional(KernelContext& ctx) {
  if (ctx.has_input(0)) ctx.SetOutput(0, ctx.input(0));
  return Status::Ok();
}

Status RunOptionalHasElement(KernelContext& ctx) {
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, DType::kBool, {}));
  *y->data<bool>() = ctx.has_input(0);
  return Status::Ok();
}

Status RunOptionalGetElement(KernelContext& ctx) {
  if (!ctx.has_input(0)) return KernelContext::Error("input 'input' is an empty optional; it has no element to get");
  ctx.SetOutput(0, ctx.input(0));
  return Status::Ok();
}

}  // namespace

void RegisterControlFlowKernels(KernelRegistry& registry) {
  registry.Register("Identity", 1, kLatestOpset, MakeFunctionKernel(RunIdentity));
  registry.Register("If", 1, kLatestOpset, CreateIfKernel);
  registry.Register("Loop", 1, kLatestOpset, CreateLoopKernel);
  registry.Register("Scan", 8, kLatestOpset, CreateScanKernel);
  registry.Register("Dropout", 1, kLatestOpset, CreateDropoutKernel);
  registry.Register("Optional", 15, kLatestOpset, MakeFunctionKernel(RunOptional));
  registry.Register("OptionalHasElement", 15, kLatestOpset, MakeFunctionKernel(RunOptionalHasElement));
  registry.Register("OptionalGetElement", 15, kLatestOpset, MakeFunctionKernel(RunOptionalGetElement));
}

}  // namespace tessera
