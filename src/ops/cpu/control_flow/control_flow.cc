// ControlFlow kernels: If, Loop, Scan, SequenceMap (control_flow_{if,loop,scan,sequence_map}.cc), Dropout
// (control_flow_dropout.cc),
// and here the ones that only pass values along: Identity and the optional ops.
//
// An optional holding a tensor or a sequence is represented by the value itself and an empty optional by
// the none Value (what an omitted optional input reads as), so these ops only pass values along.
#include "ops/cpu/control_flow/control_flow_common.h"
#include "ops/op_list.h"

namespace tessera {

namespace {

Status RunIdentity(KernelContext& ctx) {
  if (!ctx.has_input(0)) return KernelContext::Error("input 'input' is missing");
  ctx.SetOutputValue(0, ctx.input_value(0));
  return Status::Ok();
}

// Optional(x) wraps x; Optional() with only a `type` attribute is the empty optional.
Status RunOptional(KernelContext& ctx) {
  if (ctx.has_input(0)) ctx.SetOutputValue(0, ctx.input_value(0));
  return Status::Ok();
}

Status RunOptionalHasElement(KernelContext& ctx) {
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, DType::kBool, {}));
  *y->data<bool>() = ctx.has_input(0);
  return Status::Ok();
}

Status RunOptionalGetElement(KernelContext& ctx) {
  if (!ctx.has_input(0)) return KernelContext::Error("input 'input' is an empty optional; it has no element to get");
  ctx.SetOutputValue(0, ctx.input_value(0));
  return Status::Ok();
}

}  // namespace

void RegisterControlFlowKernels(KernelRegistry& registry) {
  registry.RegisterValueKernel("Identity", 1, kLatestOpset, MakeFunctionKernel(RunIdentity));
  registry.RegisterValueKernel("If", 1, kLatestOpset, CreateIfKernel);
  registry.RegisterValueKernel("Loop", 1, kLatestOpset, CreateLoopKernel);
  registry.Register("Scan", 8, kLatestOpset, CreateScanKernel);
  registry.Register("Dropout", 1, kLatestOpset, CreateDropoutKernel);
  registry.RegisterValueKernel("SequenceMap", 17, kLatestOpset, CreateSequenceMapKernel);
  registry.RegisterValueKernel("Optional", 15, kLatestOpset, MakeFunctionKernel(RunOptional));
  registry.RegisterValueKernel("OptionalHasElement", 15, kLatestOpset, MakeFunctionKernel(RunOptionalHasElement));
  registry.RegisterValueKernel("OptionalGetElement", 15, kLatestOpset, MakeFunctionKernel(RunOptionalGetElement));
}

}  // namespace tessera
