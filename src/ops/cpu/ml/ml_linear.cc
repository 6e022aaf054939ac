// LinearRegressor and LinearClassifier (ai.onnx.ml): scores = X * coefficients^T + intercepts, then
// post_transform. The regressor writes the scores ([N, targets]). The classifier writes the label of
// each row's best score and the scores; with one set of coefficients and two class labels (the binary
// form scikit-learn's exporters write) the label is the second class where the score is > 0, and the
// scores get two columns: [1 - p, p] with p the transformed score.
#include <string>
#include <vector>

#include "ops/cpu/ml/ml_common.h"
#include "ops/cpu/ml/ml_kernels.h"

namespace tessera {
namespace {

// scores[r * targets + t] for every row of `x`.
StatusOr<std::vector<float>> LinearScores(const MlRows& x, const std::vector<float>& coefficients,
                                          const std::vector<float>& intercepts, int64_t targets) {
  if (targets <= 0 || static_cast<int64_t>(coefficients.size()) != targets * x.cols) {
    return KernelContext::Error("attribute 'coefficients' has " + std::to_string(coefficients.size()) + " values; " +
                                std::to_string(targets) + " targets of " + std::to_string(x.cols) + " features need " +
                                std::to_string(targets * x.cols));
  }
  if (!intercepts.empty() && static_cast<int64_t>(intercepts.size()) != targets) {
    return KernelContext::Error("attribute 'intercepts' has " + std::to_string(intercepts.size()) + " values for " +
                                std::to_string(targets) + " targets");
  }
  std::vector<float> scores(static_cast<size_t>(x.rows * targets));
  for (int64_t r = 0; r < x.rows; ++r) {
    for (int64_t t = 0; t < targets; ++t) {
      double s = intercepts.empty() ? 0.0 : intercepts[static_cast<size_t>(t)];
      for (int64_t f = 0; f < x.cols; ++f) {
        s += static_cast<double>(x.values[static_cast<size_t>(r * x.cols + f)]) *
             coefficients[static_cast<size_t>(t * x.cols + f)];
      }
      scores[static_cast<size_t>(r * targets + t)] = static_cast<float>(s);
    }
  }
  return scores;
}

class LinearRegressorKernel : public Kernel {
 public:
  LinearRegressorKernel(const Node& node, PostTransform transform)
      : coefficients_(node.GetFloats("coefficients")),
        intercepts_(node.GetFloats("intercepts")),
        targets_(node.GetInt("targets", 1)),
        transform_(transform) {}

  Status Run(KernelContext& ctx) override {
    TS_ASSIGN_OR_RETURN(MlRows x, ReadMlRows(ctx.input(0), "X"));
    TS_ASSIGN_OR_RETURN(auto scores, LinearScores(x, coefficients_, intercepts_, targets_));
    for (int64_t r = 0; r < x.rows; ++r) ApplyPostTransform(transform_, scores.data() + r * targets_, targets_);
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, DType::kFloat32, {x.rows, targets_}));
    std::copy(scores.begin(), scores.end(), y->data<float>());
    return Status::Ok();
  }

 private:
  std::vector<float> coefficients_, intercepts_;
  int64_t targets_;
  PostTransform transform_;
};

class LinearClassifierKernel : public Kernel {
 public:
  LinearClassifierKernel(const Node& node, PostTransform transform)
      : coefficients_(node.GetFloats("coefficients")),
        intercepts_(node.GetFloats("intercepts")),
        int_labels_(node.GetInts("classlabels_ints")),
        transform_(transform) {
    if (const Attribute* a = node.FindAttribute("classlabels_strings")) string_labels_ = a->strings;
  }

  Status Run(KernelContext& ctx) override {
    TS_ASSIGN_OR_RETURN(MlRows x, ReadMlRows(ctx.input(0), "X"));
    const bool strings = !string_labels_.empty();
    const int64_t labels =
        strings ? static_cast<int64_t>(string_labels_.size()) : static_cast<int64_t>(int_labels_.size());
    const int64_t targets = intercepts_.empty() ? (x.cols ? static_cast<int64_t>(coefficients_.size()) / x.cols : 0)
                                                : static_cast<int64_t>(intercepts_.size());
    TS_ASSIGN_OR_RETURN(auto scores, LinearScores(x, coefficients_, intercepts_, targets));
    const bool binary = targets == 1 && labels == 2;
    if (!binary && targets > 1 && labels != targets) {
      return KernelContext::Error("the classifier has " + std::to_string(targets) + " score rows but " +
                                  std::to_string(labels) + " class labels");
    }
    const int64_t columns = binary ? 2 : targets;
    TS_ASSIGN_OR_RETURN(Tensor * label, ctx.AllocateOutput(0, strings ? DType::kString : DType::kInt64, {x.rows}));
    TS_ASSIGN_OR_RETURN(Tensor * z, ctx.AllocateOutput(1, DType::kFloat32, {x.rows, columns}));
    float* out = z->data<float>();
    for (int64_t r = 0; r < x.rows; ++r) {
      float* s = scores.data() + r * targets;
      int64_t best = 0;
      if (targets == 1) {
        best = s[0] > 0 ? 1 : 0;
      } else {
        for (int64_t t = 1; t < targets; ++t) {
          if (s[t] > s[best]) best = t;
        }
      }
      if (strings) {
        label->data<std::string>()[r] = labels == 0 ? std::to_string(best) : string_labels_[static_cast<size_t>(best)];
      } else {
        label->data<int64_t>()[r] = labels == 0 ? best : int_labels_[static_cast<size_t>(best)];
      }
      if (binary) {
        float p = s[0];
        ApplyPostTransform(transform_, &p, 1);
        out[r * 2] = 1.0f - p;
        out[r * 2 + 1] = p;
      } else {
        ApplyPostTransform(transform_, s, targets);
        std::copy(s, s + targets, out + r * targets);
      }
    }
    return Status::Ok();
  }

 private:
  std::vector<float> coefficients_, intercepts_;
  std::vector<int64_t> int_labels_;
  std::vector<std::string> string_labels_;
  PostTransform transform_;
};

template <typename K>
KernelFactory LinearFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    if (init.node.GetFloats("coefficients").empty()) {
      return KernelContext::Error("attribute 'coefficients' is required");
    }
    TS_ASSIGN_OR_RETURN(PostTransform transform, ParsePostTransform(init.node));
    return std::unique_ptr<Kernel>(std::make_unique<K>(init.node, transform));
  };
}

}  // namespace

void RegisterMlLinearKernels(KernelRegistry& registry) {
  RegisterMl(registry, "LinearRegressor", 1, LinearFactory<LinearRegressorKernel>());
  RegisterMl(registry, "LinearClassifier", 1, LinearFactory<LinearClassifierKernel>());
}

}  // namespace tessera
