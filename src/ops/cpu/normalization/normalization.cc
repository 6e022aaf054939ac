// Normalization kernels: BatchNormalization and InstanceNormalization (this file), LayerNormalization
// (normalization_layer.cc), LpNormalization, LRN and MeanVarianceNormalization (normalization_local.cc),
// the loss ops NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (normalization_loss.cc), and the RMS
// and skip forms of transformer exports (normalization_rms_skip.cc).
//
// Both kernels here view the input as [N, C, inner] and apply y = x * a + b per (n, c) row, where a and b
// fold scale, bias, mean and variance per channel (per element for BatchNormalization's spatial=0 form
// before opset 9). Statistics are accumulated in double.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ops/cpu/normalization/normalization_common.h"
#include "ops/op_list.h"

namespace tessera {
namespace {

// y = x * a[p] + b[p] over [N, C, inner], with p the channel (per_element false) or channel*inner + i.
template <typename T, typename C>
void ApplyAffine(const T* x, T* y, int64_t n, int64_t c, int64_t inner, const std::vector<C>& a, const std::vector<C>& b,
                 bool per_element, ThreadPool& pool) {
  using Traits = NumericTraits<T>;
  pool.ParallelFor(n * c, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, inner)), [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t ch = row % c;
      const T* in = x + row * inner;
      T* out = y + row * inner;
      if (per_element) {
        const C* ap = a.data() + ch * inner;
        const C* bp = b.data() + ch * inner;
        for (int64_t i = 0; i < inner; ++i) out[i] = Traits::Store(static_cast<C>(Traits::Load(in[i]) * ap[i] + bp[i]));
      } else {
        const C av = a[static_cast<size_t>(ch)], bv = b[static_cast<size_t>(ch)];
        for (int64_t i = 0; i < inner; ++i) out[i] = Traits::Store(static_cast<C>(Traits::Load(in[i]) * av + bv));
      }
    }
  });
}

// Mean and population variance of each channel over N and inner (or of each row when per_row).
template <typename T>
void ChannelMoments(const T* x, int64_t n, int64_t c, int64_t inner, bool per_row, std::vector<double>& mean,
                    std::vector<double>& var) {
  using Traits = NumericTraits<T>;
  const size_t count = static_cast<size_t>(per_row ? n * c : c);
  mean.assign(count, 0.0);
  var.assign(count, 0.0);
  for (int64_t row = 0; row < n * c; ++row) {
    const T* in = x + row * inner;
    double s = 0;
    for (int64_t i = 0; i < inner; ++i) s += static_cast<double>(Traits::Load(in[i]));
    mean[static_cast<size_t>(per_row ? row : row % c)] += s;
  }
  const double per = static_cast<double>(per_row ? inner : n * inner);
  for (double& m : mean) m = per > 0 ? m / per : 0.0;
  for (int64_t row = 0; row < n * c; ++row) {
    const T* in = x + row * inner;
    const size_t k = static_cast<size_t>(per_row ? row : row % c);
    double s = 0;
    for (int64_t i = 0; i < inner; ++i) {
      const double d = static_cast<double>(Traits::Load(in[i])) - mean[k];
      s += d * d;
    }
    var[k] += s;
  }
  for (double& v : var) v = per > 0 ? v / per : 0.0;
}

struct NcLayout {
  int64_t n = 0, c = 0, inner = 1;
};

StatusOr<NcLayout> GetNcLayout(const Tensor& x) {
  if (x.rank() < 2) return KernelContext::Error("input 'X' must have rank >= 2 ([N, C, ...]), got shape " + ShapeToString(x.shape()));
  NcLayout l{x.dim(0), x.dim(1), 1};
  for (int64_t d = 2; d < x.rank(); ++d) l.inner *= x.dim(d);
  return l;
}

class BatchNormKernel : public Kernel {
 public:
  explicit BatchNormKernel(const Node& node)
      : epsilon_(node.GetFloat("epsilon", 1e-5f)),
        momentum_(node.GetFloat("momentum", 0.9f)),
        training_(node.opset >= 14 && node.GetInt("training_mode", 0) != 0),
        spatial_(node.opset >= 9 || node.GetInt("spatial", 1) != 0) {}

  Status Run(KernelContext& ctx) override {
    for (size_t i = 0; i < 5; ++i) {
      if (!ctx.has_input(i)) return KernelContext::Error("input " + std::to_string(i) + " is required");
    }
    const Tensor& x = ctx.input(0);
    TS_ASSIGN_OR_RETURN(NcLayout l, GetNcLayout(x));
    const int64_t params = spatial_ ? l.c : l.c * l.inner;
    TS_ASSIGN_OR_RETURN(auto scale, ReadParam<double>(ctx.input(1), "input 'scale'", params));
    TS_ASSIGN_OR_RETURN(auto bias, ReadParam<double>(ctx.input(2), "input 'B'", params));
    TS_ASSIGN_OR_RETURN(auto mean, ReadParam<double>(ctx.input(3), "input 'input_mean'", params));
    TS_ASSIGN_OR_RETURN(auto var, ReadParam<double>(ctx.input(4), "input 'input_var'", params));
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), x.shape()));
    return DispatchFloatWithHalf(
        x.dtype(),
        [&](auto tag) -> Status {
          using T = decltype(tag);
          using C = typename NumericTraits<T>::Compute;
          if (training_) {
            std::vector<double> batch_mean, batch_var;
            ChannelMoments(x.data<T>(), l.n, l.c, l.inner, /*per_row=*/false, batch_mean, batch_var);
            TS_RETURN_IF_ERROR(WriteRunningStats(ctx, batch_mean, batch_var, mean, var));
            mean = batch_mean;
            var = batch_var;
          }
          std::vector<C> a(static_cast<size_t>(params)), b(static_cast<size_t>(params));
          for (size_t p = 0; p < a.size(); ++p) {
            const double ap = scale[p] / std::sqrt(var[p] + static_cast<double>(epsilon_));
            a[p] = static_cast<C>(ap);
            b[p] = static_cast<C>(bias[p] - mean[p] * ap);
          }
          ApplyAffine(x.data<T>(), y->data<T>(), l.n, l.c, l.inner, a, b, !spatial_, ctx.pool());
          return Status::Ok();
        },
        "BatchNormalization");
  }

 private:
  // Opset 14+ training outputs: running statistics blended with the batch's by `momentum`.
  Status WriteRunningStats(KernelContext& ctx, const std::vector<double>& batch_mean, const std::vector<double>& batch_var,
                           const std::vector<double>& mean, const std::vector<double>& var) const {
    const double m = momentum_;
    std::vector<double> running_mean(mean.size()), running_var(var.size());
    for (size_t p = 0; p < mean.size(); ++p) {
      running_mean[p] = mean[p] * m + batch_mean[p] * (1 - m);
      running_var[p] = var[p] * m + batch_var[p] * (1 - m);
    }
    if (ctx.output_count() > 1) {
      TS_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(1, ctx.input(3).dtype(), ctx.input(3).shape()));
      WriteParam(running_mean, *out);
    }
    if (ctx.output_count() > 2) {
      TS_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(2, ctx.input(4).dtype(), ctx.input(4).shape()));
      WriteParam(running_var, *out);
    }
    return Status::Ok();
  }

  float epsilon_;
  float momentum_;
  bool training_;
  bool spatial_;
};

class InstanceNormKernel : public Kernel {
 public:
  explicit InstanceNormKernel(const Node& node) : epsilon_(node.GetFloat("epsilon", 1e-5f)) {}

  Status Run(KernelContext& ctx) override {
    if (!ctx.has_input(1) || !ctx.has_input(2)) return KernelContext::Error("inputs 'scale' and 'B' are required");
    const Tensor& x = ctx.input(0);
    TS_ASSIGN_OR_RETURN(NcLayout l, GetNcLayout(x));
    TS_ASSIGN_OR_RETURN(auto scale, ReadParam<double>(ctx.input(1), "input 'scale'", l.c));
    TS_ASSIGN_OR_RETURN(auto bias, ReadParam<double>(ctx.input(2), "input 'B'", l.c));
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), x.shape()));
    return DispatchFloatWithHalf(
        x.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          using C = typename NumericTraits<T>::Compute;
          std::vector<double> mean, var;
          ChannelMoments(x.data<T>(), l.n, l.c, l.inner, /*per_row=*/true, mean, var);
          // One (a, b) pair per (n, c) row, applied as N*C "channels" of one batch.
          std::vector<C> a(mean.size()), b(mean.size());
          for (size_t row = 0; row < mean.size(); ++row) {
            const size_t ch = row % static_cast<size_t>(l.c);
            const double ar = scale[ch] / std::sqrt(var[row] + static_cast<double>(epsilon_));
            a[row] = static_cast<C>(ar);
            b[row] = static_cast<C>(bias[ch] - mean[row] * ar);
          }
          ApplyAffine(x.data<T>(), y->data<T>(), 1, l.n * l.c, l.inner, a, b, false, ctx.pool());
          return Status::Ok();
        },
        "InstanceNormalization");
  }

 private:
  float epsilon_;
};

template <typename K>
KernelFactory SimpleFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<K>(init.node));
  };
}

}  // namespace

void RegisterNormalizationKernels(KernelRegistry& registry) {
  registry.Register("BatchNormalization", 1, kLatestOpset, SimpleFactory<BatchNormKernel>());
  registry.Register("InstanceNormalization", 1, kLatestOpset, SimpleFactory<InstanceNormKernel>());
  // LayerNormalization joined the standard at opset 17; earlier opsets accept it as ONNX Runtime's
  // contrib op of the same name and semantics in the default domain.
  registry.Register("GroupNormalization", 18, kLatestOpset, MakeGroupNormalizationFactory());
  registry.Register("LayerNormalization", 1, kLatestOpset, MakeLayerNormalizationFactory());
  registry.Register("LpNormalization", 1, kLatestOpset, MakeLpNormalizationFactory());
  registry.Register("LRN", 1, kLatestOpset, MakeLrnFactory());
  registry.Register("MeanVarianceNormalization", 9, kLatestOpset, MakeMeanVarianceNormalizationFactory());
  registry.Register("NegativeLogLikelihoodLoss", 12, kLatestOpset, MakeNegativeLogLikelihoodLossFactory());
  registry.Register("SoftmaxCrossEntropyLoss", 12, kLatestOpset, MakeSoftmaxCrossEntropyLossFactory());
  RegisterRowNormalizationKernels(registry);
}

}  // namespace tessera
