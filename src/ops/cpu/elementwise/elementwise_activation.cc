// Activation functions: Relu, LeakyRelu, Elu, Selu, Celu, ThresholdedRelu, HardSigmoid, HardSwish,
// Sigmoid, Swish, Softplus, Softsign, Mish, Gelu and Shrink (PRelu broadcasts a slope input, so it lives with
// the binary ops in elementwise_pow.cc).
//
// Attribute defaults follow the ONNX schemas. Formulas are arranged so large |x| neither overflows nor
// loses the result (Sigmoid and Softplus branch on the sign of x), and NaN inputs give NaN outputs.
// float32 Sigmoid uses FastExp (common/fast_exp.h) so its loop vectorises.
#include <cmath>

#include "ops/cpu/common/value_convert.h"
#include "ops/cpu/elementwise/elementwise_registration.h"
#include "ops/cpu/elementwise/elementwise_unary_kernel.h"
#include "ops/cpu/common/fast_exp.h"

namespace tessera {
namespace {

struct ReluOp {
  static constexpr TypeClass kTypes = TypeClass::kSignedOrFloat;  // integers since opset 14
  template <typename T>
  T operator()(T x) const { return x < T(0) ? T(0) : x; }
};

struct LeakyReluOp {
  static constexpr TypeClass kTypes = TypeClass::kFloat;
  float alpha = 0.01f;
  template <typename T>
  T operator()(T x) const { return x >= T(0) ? x : T(alpha) * x; }
};

struct EluOp {
  static constexpr TypeClass kTypes = TypeClass::kFloat;
  float alpha = 1.0f;
  template <typename T>
  T operator()(T x) const { return x >= T(0) ? x : T(alpha) * std::expm1(x); }
};

struct SeluOp {
  static constexpr TypeClass kTypes = TypeClass::kFloat;
  float alpha = 1.67326319217681884765625f;
  float gamma = 1.05070102214813232421875f;
  template <typename T>
  T operator()(T x) const { return x > T(0) ? T(gamma) * x : T(gamma) * T(alpha) * std::expm1(x); }
};

struct CeluOp {
  static constexpr TypeClass kTypes = TypeClass::kFloat;
  float alpha = 1.0f;
  template <typename T>
  T operator()(T x) const { return x >= T(0) ? x : T(alpha) * std::expm1(x / T(alpha)); }
};

struct ThresholdedReluOp {
  static constexpr TypeClass kTypes = TypeClass::kFloat;
  float alpha = 1.0f;
  template <typename T>
  T operator()(T x) const { return x > T(alpha) ? x : T(0); }
};

struct HardSigmoidOp {
  static constexpr TypeClass kTypes = TypeClass::kFloat;
  float alpha = 0.2f, beta = 0.5f;
  template <typename T>
  T operator()(T x) const {
    T v = T(alpha) * x + T(beta);
    v = v < T(0) ? T(0) : v;
    return v > T(1) ? T(1) : v;
  }
};

struct HardSwishOp {
  static constexpr TypeClass kTypes = TypeClass::kFloat;
  template <typename T>
  T operator()(T x) const { return x * HardSigmoidOp{1.0f / 6.0f, 0.5f}(x); }
};

struct SigmoidOp {
  static constexpr TypeClass kTypes = TypeClass::kFloat;
  template <typename T>
  T operator()(T x) const {
    if constexpr (std::is_same_v<T, float>) {
      // FastExp clamps its argument, so huge |x| saturates to 0 or 1; NaN is restored afterwards.
      const float y = 1.0f / (1.0f + FastExp(-x));
      return x != x ? x : y;
    } else {
      if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
      const T e = std::exp(x);
      return e / (T(1) + e);
    }
  }
};

// Swish (opset 24): x * sigmoid(alpha * x).
struct SwishOp {
  static constexpr TypeClass kTypes = TypeClass::kFloat;
  float alpha = 1.0f;
  template <typename T>
  T operator()(T x) const { return x * SigmoidOp{}(T(alpha) * x); }
};

struct SoftplusOp {
  static constexpr TypeClass kTypes = TypeClass::kFloat;
  template <typename T>
  T operator()(T x) const { return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
};

struct SoftsignOp {
  static constexpr TypeClass kTypes = TypeClass::kFloat;
  template <typename T>
  T operator()(T x) const { return x / (T(1) + std::fabs(x)); }
};

struct MishOp {
  static constexpr TypeClass kTypes = TypeClass::kFloat;
  template <typename T>
  T operator()(T x) const { return x * std::tanh(SoftplusOp{}(x)); }
};

struct GeluOp {
  static constexpr TypeClass kTypes = TypeClass::kFloat;
  bool tanh_approximation = false;
  template <typename T>
  T operator()(T x) const {
    if (tanh_approximation) {
      const T k = T(0.7978845608028654);  // sqrt(2 / pi)
      return T(0.5) * x * (T(1) + std::tanh(k * (x + T(0.044715) * x * x * x)));
    }
    return T(0.5) * x * (T(1) + std::erf(x * T(0.7071067811865476)));
  }
};

struct ShrinkOp {
  static constexpr TypeClass kTypes = TypeClass::kNumeric;
  float lambd = 0.5f, bias = 0.0f;
  template <typename T>
  T operator()(T x) const {
    // Integer inputs compare and shift in double and convert back (the spec allows every numeric type);
    // ConvertValue keeps an out-of-range shifted integer defined.
    const double v = static_cast<double>(x);
    if (v < -lambd) return ConvertValue<T>(v + bias);
    if (v > lambd) return ConvertValue<T>(v - bias);
    return T(0);
  }
};

template <typename Op>
KernelFactory ActivationFactory(const std::string& name, Op (*make)(const Node&)) {
  return [name, make](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<UnaryKernel<Op>>(make(init.node), name));
  };
}

KernelFactory GeluFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    const std::string approximate = init.node.GetString("approximate", "none");
    if (approximate != "none" && approximate != "tanh") {
      return KernelContext::Error("attribute 'approximate' must be \"none\" or \"tanh\", got \"" + approximate + "\"");
    }
    return std::unique_ptr<Kernel>(std::make_unique<UnaryKernel<GeluOp>>(GeluOp{approximate == "tanh"}, "Gelu"));
  };
}

}  // namespace

void RegisterElementwiseActivationKernels(KernelRegistry& registry) {
  registry.Register("Relu", 1, kLatestOpset, UnaryFactory<ReluOp>("Relu"));
  registry.Register("LeakyRelu", 1, kLatestOpset, ActivationFactory<LeakyReluOp>("LeakyRelu", [](const Node& n) {
                      return LeakyReluOp{n.GetFloat("alpha", 0.01f)};
                    }));
  registry.Register("Elu", 1, kLatestOpset,
                    ActivationFactory<EluOp>("Elu", [](const Node& n) { return EluOp{n.GetFloat("alpha", 1.0f)}; }));
  registry.Register("Selu", 1, kLatestOpset, ActivationFactory<SeluOp>("Selu", [](const Node& n) {
                      SeluOp op;
                      op.alpha = n.GetFloat("alpha", op.alpha);
                      op.gamma = n.GetFloat("gamma", op.gamma);
                      return op;
                    }));
  registry.Register("Celu", 12, kLatestOpset,
                    ActivationFactory<CeluOp>("Celu", [](const Node& n) { return CeluOp{n.GetFloat("alpha", 1.0f)}; }));
  registry.Register("ThresholdedRelu", 10, kLatestOpset, ActivationFactory<ThresholdedReluOp>("ThresholdedRelu", [](const Node& n) {
                      return ThresholdedReluOp{n.GetFloat("alpha", 1.0f)};
                    }));
  registry.Register("HardSigmoid", 1, kLatestOpset, ActivationFactory<HardSigmoidOp>("HardSigmoid", [](const Node& n) {
                      return HardSigmoidOp{n.GetFloat("alpha", 0.2f), n.GetFloat("beta", 0.5f)};
                    }));
  registry.Register("HardSwish", 14, kLatestOpset, UnaryFactory<HardSwishOp>("HardSwish"));
  registry.Register("Sigmoid", 1, kLatestOpset, UnaryFactory<SigmoidOp>("Sigmoid"));
  registry.Register("Swish", 24, kLatestOpset,
                    ActivationFactory<SwishOp>("Swish", [](const Node& n) { return SwishOp{n.GetFloat("alpha", 1.0f)}; }));
  registry.Register("Softplus", 1, kLatestOpset, UnaryFactory<SoftplusOp>("Softplus"));
  registry.Register("Softsign", 1, kLatestOpset, UnaryFactory<SoftsignOp>("Softsign"));
  registry.Register("Mish", 18, kLatestOpset, UnaryFactory<MishOp>("Mish"));
  registry.Register("Gelu", 20, kLatestOpset, GeluFactory());
  registry.Register("Shrink", 9, kLatestOpset, ActivationFactory<ShrinkOp>("Shrink", [](const Node& n) {
                      return ShrinkOp{n.GetFloat("lambd", 0.5f), n.GetFloat("bias", 0.0f)};
                    }));
}

}  // namespace tessera
