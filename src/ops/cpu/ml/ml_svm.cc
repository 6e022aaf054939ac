// SVMRegressor (ai.onnx.ml): a support-vector regression. With support vectors (n_supports > 0) each row
// scores sum_i coefficients[i] * K(x, support_vectors[i]) + rho; without them, the linear form
// dot(x, coefficients) + rho. The kernels K are in ml_svm_kernel.h. one_class
// turns the score into 1 or -1 by its sign (> 0). The output is [N, 1], after post_transform.
#include <string>
#include <vector>

#include "ops/cpu/ml/ml_common.h"
#include "ops/cpu/ml/ml_kernels.h"
#include "ops/cpu/ml/ml_svm_kernel.h"

namespace tessera {
namespace {

class SvmRegressorKernel : public Kernel {
 public:
  SvmRegressorKernel(const Node& node, SvmKernelFunction kernel, PostTransform transform)
      : kernel_(kernel),
        transform_(transform),
        coefficients_(node.GetFloats("coefficients")),
        support_(node.GetFloats("support_vectors")),
        rho_(node.GetFloats("rho")),
        supports_(node.GetInt("n_supports", 0)),
        one_class_(node.GetInt("one_class", 0) != 0) {}

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
          score += coefficients_[static_cast<size_t>(s)] * kernel_(row, support_.data() + s * x.cols, x.cols);
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
  SvmKernelFunction kernel_;
  PostTransform transform_;
  std::vector<float> coefficients_, support_, rho_;
  int64_t supports_;
  bool one_class_;
};

StatusOr<std::unique_ptr<Kernel>> CreateSvmRegressor(const KernelInit& init) {
  TS_ASSIGN_OR_RETURN(SvmKernelFunction kernel, SvmKernelFunction::FromNode(init.node));
  if (init.node.GetInt("n_supports", 0) < 0) return KernelContext::Error("attribute 'n_supports' is negative");
  TS_ASSIGN_OR_RETURN(PostTransform transform, ParsePostTransform(init.node));
  return std::unique_ptr<Kernel>(std::make_unique<SvmRegressorKernel>(init.node, kernel, transform));
}

}  // namespace

void RegisterMlSvmKernels(KernelRegistry& registry) { RegisterMl(registry, "SVMRegressor", 1, CreateSvmRegressor); }

}  // namespace tessera
