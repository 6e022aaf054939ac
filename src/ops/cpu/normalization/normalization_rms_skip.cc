// The row normalizations of transformer exports beyond LayerNormalization:
// - RMSNormalization (ONNX opset 23) and SimplifiedLayerNormalization (ONNX Runtime's RMSNorm, which it
//   registers in the default domain; also accepted in com.microsoft): y = x / sqrt(mean(x^2) + eps) * scale
//   over prod(X.shape[axis:]) elements. Simplified's optional second output is inv_std_var.
// - com.microsoft SkipLayerNormalization and SkipSimplifiedLayerNormalization: s = input + skip (+ bias)
//   normalized over the last axis (centred, with beta, for the first; RMS for the second). Outputs:
//   output, mean, inv_std_var (shape input.shape[:-1] + [1], float32) and input_skip_bias_sum. skip is the
//   input's shape or a suffix of it (broadcast over the leading dims). The RMS form has no mean; its mean
//   output is written as 0.
// Rows are computed in float32 for float32/16 and bfloat16 inputs and in double for double inputs.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "ops/cpu/normalization/normalization_common.h"
#include "ops/op_helpers.h"
#include "ops/op_list.h"

namespace tessera {
namespace {

enum class RowNormForm { kRms, kSimplified, kSkip, kSkipSimplified };

class RowNormKernel : public Kernel {
 public:
  RowNormKernel(const Node& node, RowNormForm form)
      : form_(form),
        axis_(node.GetInt("axis", -1)),
        epsilon_(node.GetFloat("epsilon", form == RowNormForm::kSkip || form == RowNormForm::kSkipSimplified ? 1e-12f
                                                                                                            : 1e-5f)) {}

  Status Run(KernelContext& ctx) override {
    const bool skip_form = form_ == RowNormForm::kSkip || form_ == RowNormForm::kSkipSimplified;
    const size_t gamma_input = skip_form ? 2 : 1;
    if (!ctx.has_input(0) || !ctx.has_input(gamma_input) || (skip_form && !ctx.has_input(1))) {
      return KernelContext::Error(skip_form ? "inputs 'input', 'skip' and 'gamma' are required"
                                            : "inputs 'X' and 'scale' are required");
    }
    const Tensor& x = ctx.input(0);
    if (x.rank() == 0) return KernelContext::Error("input 'X' must have rank >= 1, got a scalar");
    int64_t axis = x.rank() - 1;
    if (!skip_form) {
      TS_ASSIGN_OR_RETURN(axis, NormalizeAxis(axis_, x.rank(), "attribute 'axis'"));
    }
    int64_t n = 1;
    for (int64_t d = axis; d < x.rank(); ++d) n *= x.dim(d);
    const int64_t rows = n == 0 ? 0 : x.element_count() / n;
    const Tensor* skip = skip_form ? &ctx.input(1) : nullptr;
    if (skip != nullptr) {
      // Leading 1s of skip broadcast; the dims after them must be input's trailing dims.
      int64_t first = 0;
      while (first < skip->rank() - 1 && skip->dim(first) == 1) ++first;
      const int64_t kept = skip->rank() - first;
      bool ok = skip->rank() >= 1 && kept <= x.rank();
      for (int64_t d = 0; ok && d < kept; ++d) ok = skip->dim(first + d) == x.dim(x.rank() - kept + d);
      const int64_t sc = skip->element_count();
      if (!ok || sc == 0 || x.element_count() % sc != 0) {
        return KernelContext::Error("input 'skip' of shape " + ShapeToString(skip->shape()) +
                                    " must equal input's shape " + ShapeToString(x.shape()) + " or a suffix of it");
      }
    }
    const char* gamma_name = skip_form ? "input 'gamma'" : "input 'scale'";
    TS_ASSIGN_OR_RETURN(std::vector<double> gamma, ReadParam<double>(ctx.input(gamma_input), gamma_name, n));
    std::vector<double> beta, bias;
    if (form_ == RowNormForm::kSkip && ctx.has_input(3)) {
      TS_ASSIGN_OR_RETURN(beta, ReadParam<double>(ctx.input(3), "input 'beta'", n));
    }
    const size_t bias_input = form_ == RowNormForm::kSkip ? 4 : 3;
    if (skip_form && ctx.has_input(bias_input)) {
      TS_ASSIGN_OR_RETURN(bias, ReadParam<double>(ctx.input(bias_input), "input 'bias'", n));
    }
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), x.shape()));
    Shape stats_shape(x.shape().begin(), x.shape().begin() + axis);
    stats_shape.resize(x.shape().size(), 1);
    Tensor* mean_out = nullptr;
    Tensor* inv_out = nullptr;
    Tensor* sum_out = nullptr;
    const size_t inv_index = form_ == RowNormForm::kSimplified ? 1 : 2;
    if (skip_form && ctx.wants_output(1)) {
      TS_ASSIGN_OR_RETURN(mean_out, ctx.AllocateOutput(1, DType::kFloat32, stats_shape));
    }
    if (form_ != RowNormForm::kRms && ctx.wants_output(inv_index)) {
      TS_ASSIGN_OR_RETURN(inv_out, ctx.AllocateOutput(inv_index, DType::kFloat32, stats_shape));
    }
    if (skip_form && ctx.wants_output(3)) {
      TS_ASSIGN_OR_RETURN(sum_out, ctx.AllocateOutput(3, x.dtype(), x.shape()));
    }
    if (rows == 0) return Status::Ok();
    const bool centre = form_ == RowNormForm::kSkip;
    return DispatchFloatWithHalf(
        x.dtype(),
        [&](auto tag) -> Status {
          using T = decltype(tag);
          using Traits = NumericTraits<T>;
          // float32 rows for float types of 32 bits or fewer, double for double.
          using C = std::conditional_t<std::is_same_v<T, double>, double, float>;
          std::vector<C> g(gamma.begin(), gamma.end()), b(beta.begin(), beta.end()), bs(bias.begin(), bias.end());
          const int64_t skip_count = skip ? skip->element_count() : 0;
          ctx.pool().ParallelFor(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, n)), [&](int64_t r0, int64_t r1) {
            std::vector<C> s(static_cast<size_t>(n));
            for (int64_t r = r0; r < r1; ++r) {
              const T* xr = x.data<T>() + r * n;
              for (int64_t i = 0; i < n; ++i) {
                C v = static_cast<C>(Traits::Load(xr[i]));
                if (skip) v += static_cast<C>(Traits::Load(skip->data<T>()[(r * n + i) % skip_count]));
                if (!bs.empty()) v += bs[static_cast<size_t>(i)];
                s[static_cast<size_t>(i)] = v;
              }
              C mean = 0;
              if (centre) {
                for (int64_t i = 0; i < n; ++i) mean += s[static_cast<size_t>(i)];
                mean /= static_cast<C>(n);
              }
              C sq = 0;
              for (int64_t i = 0; i < n; ++i) sq += (s[static_cast<size_t>(i)] - mean) * (s[static_cast<size_t>(i)] - mean);
              const C inv = C(1) / std::sqrt(sq / static_cast<C>(n) + static_cast<C>(epsilon_));
              T* yr = y->data<T>() + r * n;
              for (int64_t i = 0; i < n; ++i) {
                const size_t u = static_cast<size_t>(i);
                const C v = (s[u] - mean) * inv * g[u] + (b.empty() ? C(0) : b[u]);
                yr[i] = Traits::Store(static_cast<typename Traits::Compute>(v));
              }
              if (sum_out) {
                T* sr = sum_out->data<T>() + r * n;
                for (int64_t i = 0; i < n; ++i) sr[i] = Traits::Store(static_cast<typename Traits::Compute>(s[static_cast<size_t>(i)]));
              }
              if (mean_out) mean_out->data<float>()[r] = static_cast<float>(mean);
              if (inv_out) inv_out->data<float>()[r] = static_cast<float>(inv);
            }
          });
          return Status::Ok();
        },
        "this normalization");
  }

 private:
  RowNormForm form_;
  int64_t axis_;
  float epsilon_;
};

KernelFactory RowNormFactory(RowNormForm form) {
  return [form](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<RowNormKernel>(init.node, form));
  };
}

}  // namespace

void RegisterRowNormalizationKernels(KernelRegistry& registry) {
  const std::string microsoft = "com.microsoft";
  registry.Register("RMSNormalization", 23, kLatestOpset, RowNormFactory(RowNormForm::kRms));
  // ONNX Runtime registers SimplifiedLayerNormalization in the default domain (any opset) and exporters
  // also write it in com.microsoft.
  registry.Register("SimplifiedLayerNormalization", 1, kLatestOpset, RowNormFactory(RowNormForm::kSimplified));
  registry.Register(KernelDef{"SimplifiedLayerNormalization", microsoft, 1, kLatestOpset, "cpu", {},
                              RowNormFactory(RowNormForm::kSimplified)});
  registry.Register(KernelDef{"SkipLayerNormalization", microsoft, 1, kLatestOpset, "cpu", {},
                              RowNormFactory(RowNormForm::kSkip)});
  registry.Register(KernelDef{"SkipSimplifiedLayerNormalization", microsoft, 1, kLatestOpset, "cpu", {},
                              RowNormFactory(RowNormForm::kSkipSimplified)});
  registry.Register(KernelDef{"EmbedLayerNormalization", microsoft, 1, kLatestOpset, "cpu", {},
                              MakeEmbedLayerNormalizationFactory()});
}

}  // namespace tessera
