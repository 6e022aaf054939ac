// Unary math ops (Abs, Neg, Sqrt, Exp, trigonometric and hyperbolic functions, rounding, Sign, Erf,
// IsNaN, IsInf, Not, BitwiseNot), and the registration of the whole unary family: activations and Clip
// live in their own files (elementwise_activation.cc, elementwise_clip.cc).
//
// Every op is elementwise with the output shape of its input. Integer Abs and Neg wrap (Abs(INT_MIN) is
// INT_MIN, as in numpy) rather than overflow.
#include <cmath>
#include <limits>

#include "ops/cpu/elementwise/elementwise_registration.h"
#include "ops/cpu/elementwise/elementwise_unary_kernel.h"
#include "ops/op_list.h"

namespace tessera {
namespace {

#define TS_FLOAT_UNARY(Name, expr)                  \
  struct Name {                                     \
    static constexpr TypeClass kTypes = TypeClass::kFloat; \
    template <typename T>                           \
    T operator()(T x) const { return expr; }        \
  };

TS_FLOAT_UNARY(SqrtOp, std::sqrt(x))
TS_FLOAT_UNARY(ExpOp, std::exp(x))
TS_FLOAT_UNARY(LogOp, std::log(x))
TS_FLOAT_UNARY(SinOp, std::sin(x))
TS_FLOAT_UNARY(CosOp, std::cos(x))
TS_FLOAT_UNARY(TanOp, std::tan(x))
TS_FLOAT_UNARY(AsinOp, std::asin(x))
TS_FLOAT_UNARY(AcosOp, std::acos(x))
TS_FLOAT_UNARY(AtanOp, std::atan(x))
TS_FLOAT_UNARY(SinhOp, std::sinh(x))
TS_FLOAT_UNARY(CoshOp, std::cosh(x))
TS_FLOAT_UNARY(AsinhOp, std::asinh(x))
TS_FLOAT_UNARY(AcoshOp, std::acosh(x))
TS_FLOAT_UNARY(AtanhOp, std::atanh(x))
TS_FLOAT_UNARY(CeilOp, std::ceil(x))
TS_FLOAT_UNARY(FloorOp, std::floor(x))
// nearbyint rounds in the default mode, round-half-to-even, which is what ONNX Round specifies.
TS_FLOAT_UNARY(RoundOp, std::nearbyint(x))
TS_FLOAT_UNARY(ReciprocalOp, T(1) / x)
TS_FLOAT_UNARY(ErfOp, std::erf(x))

#undef TS_FLOAT_UNARY

// float32 tanh as a branch-free rational approximation (Eigen's generic_fast_tanh_float, a few ulp) so
// the loop vectorises; std::tanh for double. Beyond |x| = 7.9 the result rounds to +-1 anyway.
struct TanhOp {
  static constexpr TypeClass kTypes = TypeClass::kFloat;
  template <typename T>
  T operator()(T x) const {
    if constexpr (std::is_same_v<T, float>) {
      const float clamped = x < -7.90531110763549805f ? -7.90531110763549805f : x > 7.90531110763549805f ? 7.90531110763549805f : x;
      const float x2 = clamped * clamped;
      float p = -2.76076847742355e-16f;
      p = p * x2 + 2.00018790482477e-13f;
      p = p * x2 + -8.60467152213735e-11f;
      p = p * x2 + 5.12229709037114e-08f;
      p = p * x2 + 1.48572235717979e-05f;
      p = p * x2 + 6.37261928875436e-04f;
      p = p * x2 + 4.89352455891786e-03f;
      p = p * clamped;
      float q = 1.19825839466702e-06f;
      q = q * x2 + 1.18534705686654e-04f;
      q = q * x2 + 2.26843463243900e-03f;
      q = q * x2 + 4.89352518554385e-03f;
      const float y = p / q;
      // Tiny inputs return themselves (tanh x = x to float precision); NaN passes through that way too.
      return (std::fabs(x) < 0.0004f || x != x) ? x : y;
    } else {
      return std::tanh(x);
    }
  }
};

struct AbsOp {
  static constexpr TypeClass kTypes = TypeClass::kNumeric;
  template <typename T>
  T operator()(T x) const {
    if constexpr (std::is_unsigned_v<T>) {
      return x;
    } else if constexpr (std::is_integral_v<T>) {
      return x < 0 ? WrapNeg(x) : x;
    } else {
      return std::fabs(x);
    }
  }
};

struct NegOp {
  static constexpr TypeClass kTypes = TypeClass::kSignedOrFloat;
  template <typename T>
  T operator()(T x) const { return WrapNeg(x); }
};

struct SignOp {
  static constexpr TypeClass kTypes = TypeClass::kNumeric;
  template <typename T>
  T operator()(T x) const {
    if constexpr (std::is_unsigned_v<T>) {
      return x > 0 ? T(1) : T(0);
    } else {
      return x > 0 ? T(1) : x < 0 ? T(-1) : x;  // keeps NaN (and zero) as they are
    }
  }
};

struct IsNaNOp {
  static constexpr TypeClass kTypes = TypeClass::kFloat;
  static constexpr bool kBoolOutput = true;
  template <typename T>
  bool operator()(T x) const { return x != x; }
};

struct IsInfOp {
  static constexpr TypeClass kTypes = TypeClass::kFloat;
  static constexpr bool kBoolOutput = true;
  bool positive = true, negative = true;
  template <typename T>
  bool operator()(T x) const {
    return (positive && x == std::numeric_limits<T>::infinity()) ||
           (negative && x == -std::numeric_limits<T>::infinity());
  }
};

struct NotOp {
  static constexpr TypeClass kTypes = TypeClass::kBool;
  bool operator()(bool x) const { return !x; }
};

struct BitwiseNotOp {
  static constexpr TypeClass kTypes = TypeClass::kInteger;
  template <typename T>
  T operator()(T x) const { return static_cast<T>(~x); }
};

KernelFactory IsInfFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    IsInfOp op;
    op.positive = init.node.GetInt("detect_positive", 1) != 0;
    op.negative = init.node.GetInt("detect_negative", 1) != 0;
    return std::unique_ptr<Kernel>(std::make_unique<UnaryKernel<IsInfOp>>(op, "IsInf"));
  };
}

}  // namespace

void RegisterElementwiseUnaryKernels(KernelRegistry& registry) {
  // Every version of these ops computes the same function; later versions only add dtypes (and opset 1-5
  // a `consumed_inputs` attribute with no effect on inference), so one kernel covers them all.
  registry.Register("Abs", 1, kLatestOpset, UnaryFactory<AbsOp>("Abs"));
  registry.Register("Neg", 1, kLatestOpset, UnaryFactory<NegOp>("Neg"));
  registry.Register("Sqrt", 1, kLatestOpset, UnaryFactory<SqrtOp>("Sqrt"));
  registry.Register("Exp", 1, kLatestOpset, UnaryFactory<ExpOp>("Exp"));
  registry.Register("Log", 1, kLatestOpset, UnaryFactory<LogOp>("Log"));
  registry.Register("Sin", 7, kLatestOpset, UnaryFactory<SinOp>("Sin"));
  registry.Register("Cos", 7, kLatestOpset, UnaryFactory<CosOp>("Cos"));
  registry.Register("Tan", 7, kLatestOpset, UnaryFactory<TanOp>("Tan"));
  registry.Register("Asin", 7, kLatestOpset, UnaryFactory<AsinOp>("Asin"));
  registry.Register("Acos", 7, kLatestOpset, UnaryFactory<AcosOp>("Acos"));
  registry.Register("Atan", 7, kLatestOpset, UnaryFactory<AtanOp>("Atan"));
  registry.Register("Sinh", 9, kLatestOpset, UnaryFactory<SinhOp>("Sinh"));
  registry.Register("Cosh", 9, kLatestOpset, UnaryFactory<CoshOp>("Cosh"));
  registry.Register("Tanh", 1, kLatestOpset, UnaryFactory<TanhOp>("Tanh"));
  registry.Register("Asinh", 9, kLatestOpset, UnaryFactory<AsinhOp>("Asinh"));
  registry.Register("Acosh", 9, kLatestOpset, UnaryFactory<AcoshOp>("Acosh"));
  registry.Register("Atanh", 9, kLatestOpset, UnaryFactory<AtanhOp>("Atanh"));
  registry.Register("Ceil", 1, kLatestOpset, UnaryFactory<CeilOp>("Ceil"));
  registry.Register("Floor", 1, kLatestOpset, UnaryFactory<FloorOp>("Floor"));
  registry.Register("Round", 11, kLatestOpset, UnaryFactory<RoundOp>("Round"));
  registry.Register("Sign", 9, kLatestOpset, UnaryFactory<SignOp>("Sign"));
  registry.Register("Reciprocal", 1, kLatestOpset, UnaryFactory<ReciprocalOp>("Reciprocal"));
  registry.Register("Erf", 9, kLatestOpset, UnaryFactory<ErfOp>("Erf"));
  registry.Register("IsNaN", 9, kLatestOpset, UnaryFactory<IsNaNOp>("IsNaN"));
  registry.Register("IsInf", 10, kLatestOpset, IsInfFactory());
  registry.Register("Not", 1, kLatestOpset, UnaryFactory<NotOp>("Not"));
  registry.Register("BitwiseNot", 18, kLatestOpset, UnaryFactory<BitwiseNotOp>("BitwiseNot"));

  RegisterElementwiseActivationKernels(registry);
  RegisterElementwiseContribGeluKernels(registry);
  RegisterElementwiseClipKernels(registry);
}

}  // namespace tessera
