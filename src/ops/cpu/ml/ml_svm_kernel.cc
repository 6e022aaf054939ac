// SVM kernel functions; see the header.
#include "ops/cpu/ml/ml_svm_kernel.h"

#include <cmath>
#include <string>
#include <vector>

namespace tessera {

StatusOr<SvmKernelFunction> SvmKernelFunction::FromNode(const Node& node) {
  const std::string name = node.GetString("kernel_type", "LINEAR");
  Type type;
  if (name == "LINEAR") {
    type = Type::kLinear;
  } else if (name == "POLY") {
    type = Type::kPoly;
  } else if (name == "RBF") {
    type = Type::kRbf;
  } else if (name == "SIGMOID") {
    type = Type::kSigmoid;
  } else {
    return KernelContext::Error("attribute 'kernel_type' must be LINEAR, POLY, RBF or SIGMOID, got \"" + name + "\"");
  }
  std::vector<float> params = node.GetFloats("kernel_params");
  params.resize(3, 0.0f);
  return SvmKernelFunction(type, params[0], params[1], params[2]);
}

double SvmKernelFunction::operator()(const float* a, const float* b, int64_t n) const {
  if (type_ == Type::kRbf) {
    double d = 0;
    for (int64_t i = 0; i < n; ++i) d += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    return std::exp(-gamma_ * d);
  }
  double dot = 0;
  for (int64_t i = 0; i < n; ++i) dot += static_cast<double>(a[i]) * b[i];
  switch (type_) {
    case Type::kLinear: return dot;
    case Type::kPoly: return std::pow(gamma_ * dot + coef0_, degree_);
    case Type::kSigmoid: return std::tanh(gamma_ * dot + coef0_);
    case Type::kRbf: break;
  }
  return dot;
}

}  // namespace tessera
