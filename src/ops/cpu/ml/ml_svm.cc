// SVMRegressor (ai.onnx.ml): a support-vector regression. With support vectors (n_supports > 0) each row
// scores sum_i coefficients[i] * K(x, support_vectors[i]) + rho; without them, the linear form
// dot(x, coefficients) + rho. Kernels (kernel_params = [gamma, coef0, degree]): LINEAR x.s, POLY
// (gamma x.s + coef0)^degree, RBF exp(-gamma |x - s|^2), SIGMOID tanh(gamma x.s + coef0). one_class
// turns the score into 1 or -1 by its sign (> 0). The output is [N, 1], after post_transform.
#include <cmath>
#include <string>
#include <vector>

#include "ops/cpu/ml/ml_common.h"
#include "ops/cpu/ml/ml_kernels.h"

namespace tessera {
namespace {

enum class SvmKernel { kLinear, kPoly, kRbf, kSigmoid };

class SvmRegressorKernel : public Kernel {
 public:
  SvmRegressorKernel(const Node& node, SvmKernel kernel, PostTransform transform)
      : kernel_(kernel),
        transform_(transform),
        coefficients_(node.GetFloats("coefficients")),
        support_(node.GetFloats("support_vectors")),
        rho_(node.GetFloats("rho")),
        params_(node.GetFloats("kernel_params")),
        supports_(node.GetInt("n_supports", 0)),
        one_class_(node.GetInt("one_class", 0) != 0) {
    params_.resize(3, 0.0f);
  }

  Status Run(KernelContext& ctx) override {
    TS_ASSIGN_OR_RETURN(MlRows x, ReadMlRows(ctx.input(0), "X"));
    if (supports_ > 0) {
      if (static_cast<int64_t>(support_.size()) != supports_ * x.cols ||
          static_cast<int64_t>(coefficients_.size()) < supports_) {
        return KernelContext::Error("attributes 'support_vectors' (" + std::to_string(support_.size()) +
                                    " values) and 'coefficients' do not fit " + std::to_string(supports_) +
                                    " support vectors of " + std::to_string(x.cols) + " features");
      }
    } else if (static_cast<int64_t>(coefficients_.size()) != x.cols) {
      return KernelContext::Error("attribute 'coefficients' has " + std::to_string(coefficients_.size()) +
                                  " values for " + std::to_string(x.cols) + " features");
    }
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, DType::kFloat32, {x.rows, 1}));
    for (int64_t r = 0; r < x.rows; ++r) {
      const float* row = x.values.data() + r * x.cols;
      double score = rho_.empty() ? 0.0 : rho_[0];
      if (supports_ > 0) {
        for (int64_t s = 0; s < supports_; ++s) {
          score += coefficients_[static_cast<size_t>(s)] * Apply(row, support_.data() + s * x.cols, x.cols);
        }
      } else {
        for (int64_t f = 0; f < x.cols; ++f) {
          score += static_cast<double>(row[f]) * coefficients_[static_cast<size_t>(f)];
        }
      }
      float v = static_cast<float>(score);
      if (one_class_) v = v > 0 ? 1.0f : -1.0f;
      ApplyPostTransform(transform_, &v, 1);
      y->data<float>()[r] = v;
    }
    return Status::Ok();
  }

 private:
  double Apply(const float* a, const float* b, int64_t n) const {
    const double gamma = params_[0], coef0 = params_[1], degree = params_[2];
    if (kernel_ == SvmKernel::kRbf) {
      double d = 0;
      for (int64_t i = 0; i < n; ++i) d += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
      return std::exp(-gamma * d);
    }
    double dot = 0;
    for (int64_t i = 0; i < n; ++i) dot += static_cast<double>(a[i]) * b[i];
    switch (kernel_) {
      case SvmKernel::kLinear: return dot;
      case SvmKernel::kPoly: return std::pow(gamma * dot + coef0, degree);
      case SvmKernel::kSigmoid: return std::tanh(gamma * dot + coef0);
      case SvmKernel::kRbf: break;
    }
    return dot;
  }

  SvmKernel kernel_;
  PostTransform transform_;
  std::vector<float> coefficients_, support_, rho_, params_;
  int64_t supports_;
  bool one_class_;
};

StatusOr<std::unique_ptr<Kernel>> CreateSvmRegressor(const KernelInit& init) {
  const std::string k = init.node.GetString("kernel_type", "LINEAR");
  SvmKernel kernel;
  if (k == "LINEAR") {
    kernel = SvmKernel::kLinear;
  } else if (k == "POLY") {
    kernel = SvmKernel::kPoly;
  } else if (k == "RBF") {
    kernel = SvmKernel::kRbf;
  } else if (k == "SIGMOID") {
    kernel = SvmKernel::kSigmoid;
  } else {
    return KernelContext::Error("attribute 'kernel_type' must be LINEAR, POLY, RBF or SIGMOID, got \"" + k + "\"");
  }
  if (init.node.GetInt("n_supports", 0) < 0) return KernelContext::Error("attribute 'n_supports' is negative");
  TS_ASSIGN_OR_RETURN(PostTransform transform, ParsePostTransform(init.node));
  return std::unique_ptr<Kernel>(std::make_unique<SvmRegressorKernel>(init.node, kernel, transform));
}

}  // namespace

void RegisterMlSvmKernels(KernelRegistry& registry) { RegisterMl(registry, "SVMRegressor", 1, CreateSvmRegressor); }

}  // namespace tessera
