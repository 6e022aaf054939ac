// Pow (base and exponent may have different dtypes since opset 12) and PRelu (a slope that broadcasts
// to the input's shape, unidirectionally).
//
// Pow's output has the base's dtype. Float bases with an exponent of the same float type use pow in
// that type; integer ** integer is exact (wrapping) repeated squaring; any other mix computes in double,
// as numpy does after promotion, and converts back (value_convert.h rules for float -> integer).
#include <cmath>

#include "ops/cpu/common/value_convert.h"
#include "ops/cpu/elementwise/elementwise_binary_kernel.h"
#include "ops/cpu/elementwise/elementwise_registration.h"

namespace tessera {
namespace {

// out[i] = x[i]^2 (or x[0]^2 for a scalar base), for Pow's float fast path. clang 14 type-checks the
// discarded `if constexpr` branches of nested generic lambdas, so the branch only calls this.
void SquareFloats(const float* x, bool scalar_base, float* out, int64_t count, ThreadPool& pool) {
  ForEachElementRange(count, pool, [&](int64_t begin, int64_t end) {
    if (scalar_base) {
      for (int64_t i = begin; i < end; ++i) out[i] = x[0] * x[0];
    } else {
      for (int64_t i = begin; i < end; ++i) out[i] = x[i] * x[i];
    }
  });
}


template <typename T, typename E>
T IntegerPow(T base, E exponent) {
  if constexpr (std::is_signed_v<E>) {
    if (exponent < E(0)) {
      // |base| >= 2 gives a fraction that truncates to 0; 0 ** negative is infinite: 0 here too.
      if (base == T(1)) return T(1);
      if constexpr (std::is_signed_v<T>) {
        if (base == T(-1)) return (exponent % 2) ? T(-1) : T(1);
      }
      return T(0);
    }
  }
  T result = T(1);
  while (exponent > E(0)) {
    if (exponent & E(1)) result = WrapMul(result, base);
    base = WrapMul(base, base);
    exponent = static_cast<E>(exponent >> 1);
  }
  return result;
}

template <typename B, typename E>
B PowValue(B base, E exponent) {
  using BC = ComputeOf<B>;
  using EC = ComputeOf<E>;
  if constexpr (std::is_floating_point_v<BC> && std::is_same_v<BC, EC>) {
    return StoreValue<B>(std::pow(LoadValue(base), LoadValue(exponent)));
  } else if constexpr (std::is_integral_v<BC> && std::is_integral_v<EC>) {
    return IntegerPow(base, exponent);
  } else {
    const double r = std::pow(static_cast<double>(LoadValue(base)), static_cast<double>(LoadValue(exponent)));
    return ConvertValue<B>(r);
  }
}

Status RunPow(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  const Shape b_shape = ctx.opset() < 7 ? LegacyBroadcastShape(ctx.node(), a.shape(), b.shape()) : b.shape();
  Shape out_shape;
  TS_ASSIGN_OR_RETURN(BroadcastPlan plan, PlanBroadcast({a.shape(), b_shape}, out_shape));
  TS_ASSIGN_OR_RETURN(Tensor * c, ctx.AllocateUninitializedOutput(0, a.dtype(), out_shape));
  return DispatchTypeClass<TypeClass::kNumeric>(
      a.dtype(),
      [&](auto base_tag) {
        using B = decltype(base_tag);
        return DispatchTypeClass<TypeClass::kNumeric>(
            b.dtype(),
            [&](auto exponent_tag) {
              using E = decltype(exponent_tag);
              const B* pa = a.data<B>();
              const E* pb = b.data<E>();
              B* pc = c->data<B>();
              if constexpr (std::is_same_v<B, float> && std::is_same_v<E, float>) {
                // x ** 2 (squares in norms and losses) is common enough to skip powf for.
                if (b.element_count() == 1 && pb[0] == 2.0f) {
                  // The casts are no-ops here (B is float); they keep clang from rejecting the other
                  // instantiations of this branch.
                  SquareFloats(reinterpret_cast<const float*>(pa), a.element_count() == 1, reinterpret_cast<float*>(pc),
                               c->element_count(), ctx.pool());
                  return Status::Ok();
                }
              }
              RunBinaryPlan(plan, pa, pb, pc, ctx.pool(), [](B x, E y) { return PowValue(x, y); });
              return Status::Ok();
            },
            "Pow exponent");
      },
      "Pow");
}

struct PReluOp {
  static constexpr TypeClass kTypes = TypeClass::kNumeric;
  template <typename T>
  T operator()(T x, T slope) const { return x < T(0) ? WrapMul(slope, x) : x; }
};

Status RunPRelu(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor slope = ctx.input(1);
  // Opset 1 and 6 took a per-channel slope of shape [C] for x of shape [N, C, ...].
  if (ctx.opset() < 7 && slope.rank() == 1 && x.rank() > 2 && slope.dim(0) == x.dim(1) && slope.dim(0) != 1) {
    Shape s(static_cast<size_t>(x.rank() - 1), 1);
    s[0] = slope.dim(0);
    slope = slope.Reshaped(s);
  }
  auto out_shape = BroadcastShapes(x.shape(), slope.shape());
  if (!out_shape.ok() || *out_shape != x.shape()) {
    return KernelContext::Error("input 'slope' of shape " + ShapeToString(slope.shape()) +
                                " does not broadcast to input 'X' of shape " + ShapeToString(x.shape()));
  }
  return RunBinaryOp(ctx, PReluOp{}, "PRelu", x, slope);
}

}  // namespace

void RegisterElementwisePowKernels(KernelRegistry& registry) {
  registry.Register("Pow", 1, kLatestOpset, MakeFunctionKernel(RunPow));
  registry.Register("PRelu", 1, kLatestOpset, MakeFunctionKernel(RunPRelu));
}

}  // namespace tessera
