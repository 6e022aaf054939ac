// The kernel functions SVMRegressor and SVMClassifier share (kernel_type, kernel_params = [gamma, coef0,
// degree]): LINEAR x.s, POLY (gamma x.s + coef0)^degree, RBF exp(-gamma |x - s|^2), SIGMOID
// tanh(gamma x.s + coef0).
#pragma once

#include <cstdint>

#include "ops/kernel.h"

namespace tessera {

class SvmKernelFunction {
 public:
  enum class Type { kLinear, kPoly, kRbf, kSigmoid };

  // Reads kernel_type (default LINEAR) and kernel_params (missing values are 0); refuses an unknown type.
  static StatusOr<SvmKernelFunction> FromNode(const Node& node);
  // The plain dot product, whatever the node says (the classifier's linear mode, without support vectors).
  static SvmKernelFunction Linear() { return SvmKernelFunction(Type::kLinear, 0, 0, 0); }

  // K(a, b) over `n` features, accumulated in double.
  double operator()(const float* a, const float* b, int64_t n) const;

 private:
  SvmKernelFunction(Type type, double gamma, double coef0, double degree)
      : type_(type), gamma_(gamma), coef0_(coef0), degree_(degree) {}

  Type type_;
  double gamma_, coef0_, degree_;
};

}  // namespace tessera
