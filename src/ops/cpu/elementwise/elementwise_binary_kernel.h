// BinaryKernel: c = op(a, b) with numpy broadcasting, for arithmetic, comparison and logic ops.
//
// An op is a struct with `static constexpr TypeClass kTypes` and a template `operator()(T a, T b)` over
// compute types (bool inputs arrive as bool, 16-bit floats as float). `kBoolOutput = true` makes the
// output bool (comparisons); `kNeedsNonzeroDivisor = true` makes integer inputs with a zero in `b` an
// error instead of a SIGFPE (Div, Mod). Before opset 7 the ops broadcast only when the node says so,
// optionally aligning b at `axis` of a; LegacyBroadcastShape turns that into a numpy-compatible shape.
#pragma once

#include <memory>
#include <string>
#include <type_traits>

#include "ops/cpu/common/broadcast.h"
#include "ops/cpu/common/type_class.h"

namespace tessera {

template <typename Op, typename = void>
struct BinaryOutputIsBool : std::false_type {};
template <typename Op>
struct BinaryOutputIsBool<Op, std::void_t<decltype(Op::kBoolOutput)>> : std::bool_constant<Op::kBoolOutput> {};

template <typename Op, typename = void>
struct BinaryNeedsNonzeroDivisor : std::false_type {};
template <typename Op>
struct BinaryNeedsNonzeroDivisor<Op, std::void_t<decltype(Op::kNeedsNonzeroDivisor)>>
    : std::bool_constant<Op::kNeedsNonzeroDivisor> {};

// Storage type of a tensor element as the loops read it: bool as bytes (see LoadBool).
template <typename T>
using ElementStorage = std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>;

// o[i] = f(a[i], b[i]) over a broadcast plan of two inputs; f takes and returns storage values.
template <typename A, typename B, typename O, typename F>
void RunBinaryPlan(const BroadcastPlan& plan, const A* a, const B* b, O* o, ThreadPool& pool, const F& f) {
  const bool a_runs = plan.inner_stride[0] != 0, b_runs = plan.inner_stride[1] != 0;
  ForEachBroadcastRun(plan, pool, [&](int64_t out, const int64_t* in, int64_t n) {
    const A* pa = a + in[0];
    const B* pb = b + in[1];
    O* po = o + out;
    // Separate loops for each stride pattern keep every one of them a simple vectorisable loop.
    if (a_runs && b_runs) {
      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
    } else if (a_runs) {
      const B bv = pb[0];
      for (int64_t i = 0; i < n; ++i) po[i] = f(pa[i], bv);
    } else if (b_runs) {
      const A av = pa[0];
      for (int64_t i = 0; i < n; ++i) po[i] = f(av, pb[i]);
    } else {
      const O v = f(pa[0], pb[0]);
      for (int64_t i = 0; i < n; ++i) po[i] = v;
    }
  });
}

// Before opset 7, Add/Sub/Mul/Div/Pow/And/Or/Xor/Equal/Less/Greater broadcast b to a only when the
// attribute `broadcast` is 1; `axis` then places b's dims starting at that dim of a. Returns b's shape
// padded so numpy broadcasting gives the same result.
Shape LegacyBroadcastShape(const Node& node, const Shape& a, const Shape& b);

// c = op(a, b) for tensors of one dtype in op's class, with the output allocated as output 0.
template <typename Op>
Status RunBinaryOp(KernelContext& ctx, const Op& op, const std::string& name, const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype()) {
    return KernelContext::Error("inputs must have the same dtype, got " + std::string(DTypeName(a.dtype())) +
                                " and " + DTypeName(b.dtype()));
  }
  const Shape b_shape = ctx.opset() < 7 ? LegacyBroadcastShape(ctx.node(), a.shape(), b.shape()) : b.shape();
  Shape out_shape;
  TS_ASSIGN_OR_RETURN(BroadcastPlan plan, PlanBroadcast({a.shape(), b_shape}, out_shape));
  const DType out_dtype = BinaryOutputIsBool<Op>::value ? DType::kBool : a.dtype();
  TS_ASSIGN_OR_RETURN(Tensor * c, ctx.AllocateUninitializedOutput(0, out_dtype, out_shape));
  return DispatchTypeClass<Op::kTypes>(
      a.dtype(),
      [&](auto tag) -> Status {
        using T = decltype(tag);
        using S = ElementStorage<T>;
        using O = std::conditional_t<BinaryOutputIsBool<Op>::value, bool, S>;
        const S* pb = b.data<S>();
        if constexpr (BinaryNeedsNonzeroDivisor<Op>::value && std::is_integral_v<T>) {
          for (int64_t i = 0; i < b.element_count(); ++i) {
            if (pb[i] == 0) return KernelContext::Error("integer division by zero: input 'B' element " + std::to_string(i) + " is 0");
          }
        }
        if constexpr (std::is_same_v<T, bool>) {
          RunBinaryPlan(plan, a.data<S>(), pb, c->data<O>(), ctx.pool(),
                        [&](S x, S y) { return static_cast<O>(op(LoadBool(x), LoadBool(y))); });
        } else if constexpr (kIsHalf<T> && !BinaryOutputIsBool<Op>::value) {
          RunBinaryPlan(plan, a.data<S>(), pb, c->data<O>(), ctx.pool(),
                        [&](S x, S y) { return StoreValue<T>(op(LoadValue(x), LoadValue(y))); });
        } else if constexpr (kIsHalf<T>) {
          RunBinaryPlan(plan, a.data<S>(), pb, c->data<O>(), ctx.pool(),
                        [&](S x, S y) { return op(LoadValue(x), LoadValue(y)); });
        } else {
          RunBinaryPlan(plan, a.data<S>(), pb, c->data<O>(), ctx.pool(), op);
        }
        return Status::Ok();
      },
      name);
}

template <typename Op>
class BinaryKernel : public Kernel {
 public:
  BinaryKernel(Op op, std::string name) : op_(std::move(op)), name_(std::move(name)) {}
  Status Run(KernelContext& ctx) override { return RunBinaryOp(ctx, op_, name_, ctx.input(0), ctx.input(1)); }

 private:
  Op op_;
  std::string name_;
};

template <typename Op>
KernelFactory BinaryFactory(const std::string& name, Op op = Op{}) {
  return [name, op](const KernelInit&) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<BinaryKernel<Op>>(op, name));
  };
}

}  // namespace tessera
