// Comparisons (Equal, Less, Greater, LessOrEqual, GreaterOrEqual) and logic (And, Or, Xor), all with
// numpy broadcasting and a bool output. Equal also compares strings. Comparisons with NaN are false
// (Equal(NaN, NaN) included), as IEEE and numpy define them.
#include <string>

#include "ops/cpu/elementwise/elementwise_binary_kernel.h"
#include "ops/cpu/elementwise/elementwise_registration.h"

namespace tessera {
namespace {

#define TS_COMPARE_OP(Name, Types, expr)            \
  struct Name {                                     \
    static constexpr TypeClass kTypes = Types;      \
    static constexpr bool kBoolOutput = true;       \
    template <typename T>                           \
    bool operator()(T a, T b) const { return expr; } \
  };

TS_COMPARE_OP(EqualOp, TypeClass::kNumericOrBool, a == b)
TS_COMPARE_OP(LessOp, TypeClass::kNumeric, a < b)
TS_COMPARE_OP(GreaterOp, TypeClass::kNumeric, a > b)
TS_COMPARE_OP(LessOrEqualOp, TypeClass::kNumeric, a <= b)
TS_COMPARE_OP(GreaterOrEqualOp, TypeClass::kNumeric, a >= b)
TS_COMPARE_OP(AndOp, TypeClass::kBool, a && b)
TS_COMPARE_OP(OrOp, TypeClass::kBool, a || b)
TS_COMPARE_OP(XorOp, TypeClass::kBool, a != b)

#undef TS_COMPARE_OP

Status RunEqual(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  if (a.dtype() != DType::kString || b.dtype() != DType::kString) return RunBinaryOp(ctx, EqualOp{}, "Equal", a, b);
  Shape out_shape;
  TS_ASSIGN_OR_RETURN(BroadcastPlan plan, PlanBroadcast({a.shape(), b.shape()}, out_shape));
  TS_ASSIGN_OR_RETURN(Tensor * c, ctx.AllocateUninitializedOutput(0, DType::kBool, out_shape));
  RunBinaryPlan(plan, a.data<std::string>(), b.data<std::string>(), c->data<bool>(), ctx.pool(),
                [](const std::string& x, const std::string& y) { return x == y; });
  return Status::Ok();
}

}  // namespace

void RegisterElementwiseCompareKernels(KernelRegistry& registry) {
  registry.Register("Equal", 1, kLatestOpset, MakeFunctionKernel(RunEqual));
  registry.Register("Less", 1, kLatestOpset, BinaryFactory<LessOp>("Less"));
  registry.Register("Greater", 1, kLatestOpset, BinaryFactory<GreaterOp>("Greater"));
  registry.Register("LessOrEqual", 12, kLatestOpset, BinaryFactory<LessOrEqualOp>("LessOrEqual"));
  registry.Register("GreaterOrEqual", 12, kLatestOpset, BinaryFactory<GreaterOrEqualOp>("GreaterOrEqual"));
  registry.Register("And", 1, kLatestOpset, BinaryFactory<AndOp>("And"));
  registry.Register("Or", 1, kLatestOpset, BinaryFactory<OrOp>("Or"));
  registry.Register("Xor", 1, kLatestOpset, BinaryFactory<XorOp>("Xor"));
}

}  // namespace tessera
