// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.
//
// Both view the scores as [N, C, D] (D = product of the extra dims) and the targets as [N, D]. A target
// equal to ignore_index contributes zero loss and zero weight; any other target outside [0, C) is an
// error. Reduction "mean" divides the weighted sum by the sum of the weights of the counted targets
// (a plain count without weights), so it is NaN when every target is ignored, as in the reference.
// SoftmaxCrossEntropyLoss is NLL of log_softmax(scores, axis=1), whose values are its optional second
// output.
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "ops/cpu/normalization/normalization_common.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

enum class Reduction { kNone, kSum, kMean };

struct LossAttributes {
  Reduction reduction = Reduction::kMean;
  std::optional<int64_t> ignore_index;
};

StatusOr<LossAttributes> ParseLossAttributes(const Node& node) {
  LossAttributes a;
  const std::string r = node.GetString("reduction", "mean");
  if (r == "none") a.reduction = Reduction::kNone;
  else if (r == "sum") a.reduction = Reduction::kSum;
  else if (r == "mean") a.reduction = Reduction::kMean;
  else return KernelContext::Error("attribute 'reduction' must be none, sum or mean, got '" + r + "'");
  if (node.HasAttribute("ignore_index")) a.ignore_index = node.GetInt("ignore_index", 0);
  return a;
}

struct LossShape {
  int64_t n = 0, c = 0, d = 1;
};

// Checks scores [N, C, d1..dk], targets [N, d1..dk] and the optional weights [C].
StatusOr<LossShape> CheckLossInputs(KernelContext& ctx) {
  if (!ctx.has_input(1)) return KernelContext::Error("the target input is required");
  const Tensor& scores = ctx.input(0);
  const Tensor& target = ctx.input(1);
  if (scores.rank() < 2) return KernelContext::Error("scores must have rank >= 2 ([N, C, ...]), got shape " + ShapeToString(scores.shape()));
  Shape expected = scores.shape();
  expected.erase(expected.begin() + 1);
  if (target.shape() != expected) {
    return KernelContext::Error("target shape " + ShapeToString(target.shape()) + " does not match scores shape " +
                                ShapeToString(scores.shape()) + " (expected " + ShapeToString(expected) + ")");
  }
  LossShape s{scores.dim(0), scores.dim(1), 1};
  for (int64_t k = 2; k < scores.rank(); ++k) s.d *= scores.dim(k);
  return s;
}

// loss = -log_prob[n, target, d] * weight[target], reduced; writes output 0.
template <typename T>
Status NllFromLogProb(KernelContext& ctx, const T* log_prob, const LossShape& s, const LossAttributes& attrs) {
  using Traits = NumericTraits<T>;
  using C = typename Traits::Compute;
  TS_ASSIGN_OR_RETURN(std::vector<int64_t> target, ReadInt64Values(ctx.input(1), "target"));
  std::vector<double> weight;
  if (ctx.has_input(2)) {
    TS_ASSIGN_OR_RETURN(weight, ReadParam<double>(ctx.input(2), "weight", s.c));
  }
  std::vector<double> loss(target.size());
  double loss_sum = 0, weight_sum = 0;
  for (int64_t b = 0; b < s.n; ++b) {
    for (int64_t j = 0; j < s.d; ++j) {
      const size_t e = static_cast<size_t>(b * s.d + j);
      const int64_t t = target[e];
      if (attrs.ignore_index && t == *attrs.ignore_index) continue;
      if (t < 0 || t >= s.c) {
        return KernelContext::Error("target value " + std::to_string(t) + " is out of range [0, " + std::to_string(s.c) + ")");
      }
      const double w = weight.empty() ? 1.0 : weight[static_cast<size_t>(t)];
      loss[e] = -static_cast<double>(Traits::Load(log_prob[(b * s.c + t) * s.d + j])) * w;
      loss_sum += loss[e];
      weight_sum += w;
    }
  }
  if (attrs.reduction == Reduction::kNone) {
    TS_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, ctx.input(0).dtype(), ctx.input(1).shape()));
    T* p = out->data<T>();
    for (size_t e = 0; e < loss.size(); ++e) p[e] = Traits::Store(static_cast<C>(loss[e]));
    return Status::Ok();
  }
  TS_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, ctx.input(0).dtype(), Shape{}));
  const double value = attrs.reduction == Reduction::kSum ? loss_sum : loss_sum / weight_sum;
  out->data<T>()[0] = Traits::Store(static_cast<C>(value));
  return Status::Ok();
}

class NllLossKernel : public Kernel {
 public:
  explicit NllLossKernel(LossAttributes attrs) : attrs_(attrs) {}

  Status Run(KernelContext& ctx) override {
    TS_ASSIGN_OR_RETURN(LossShape s, CheckLossInputs(ctx));
    return DispatchFloatWithHalf(
        ctx.input(0).dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          return NllFromLogProb<T>(ctx, ctx.input(0).data<T>(), s, attrs_);
        },
        "NegativeLogLikelihoodLoss");
  }

 private:
  LossAttributes attrs_;
};

// log_softmax over C of one [C, D] slab, processing D-vectors at a time so access stays unit-stride.
template <typename T>
void LogSoftmaxSlab(const T* x, T* y, int64_t c, int64_t d, std::vector<double>& max, std::vector<double>& sum) {
  using Traits = NumericTraits<T>;
  using C = typename Traits::Compute;
  max.assign(static_cast<size_t>(d), -INFINITY);
  sum.assign(static_cast<size_t>(d), 0.0);
  for (int64_t k = 0; k < c; ++k) {
    for (int64_t j = 0; j < d; ++j) max[static_cast<size_t>(j)] = std::max(max[static_cast<size_t>(j)], static_cast<double>(Traits::Load(x[k * d + j])));
  }
  for (int64_t k = 0; k < c; ++k) {
    for (int64_t j = 0; j < d; ++j) sum[static_cast<size_t>(j)] += std::exp(static_cast<double>(Traits::Load(x[k * d + j])) - max[static_cast<size_t>(j)]);
  }
  for (int64_t k = 0; k < c; ++k) {
    for (int64_t j = 0; j < d; ++j) {
      const size_t u = static_cast<size_t>(j);
      y[k * d + j] = Traits::Store(static_cast<C>(static_cast<double>(Traits::Load(x[k * d + j])) - max[u] - std::log(sum[u])));
    }
  }
}

class SoftmaxCrossEntropyKernel : public Kernel {
 public:
  explicit SoftmaxCrossEntropyKernel(LossAttributes attrs) : attrs_(attrs) {}

  Status Run(KernelContext& ctx) override {
    TS_ASSIGN_OR_RETURN(LossShape s, CheckLossInputs(ctx));
    const Tensor& scores = ctx.input(0);
    // log_prob goes straight into output 1 when the model asks for it.
    Tensor scratch;
    Tensor* log_prob = &scratch;
    if (ctx.wants_output(1)) {
      TS_ASSIGN_OR_RETURN(log_prob, ctx.AllocateOutput(1, scores.dtype(), scores.shape()));
    } else {
      TS_ASSIGN_OR_RETURN(scratch, Tensor::Allocate(scores.dtype(), scores.shape()));
    }
    return DispatchFloatWithHalf(
        scores.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          const T* x = scores.data<T>();
          T* lp = log_prob->data<T>();
          std::vector<double> max, sum;
          for (int64_t b = 0; b < s.n; ++b) LogSoftmaxSlab(x + b * s.c * s.d, lp + b * s.c * s.d, s.c, s.d, max, sum);
          return NllFromLogProb<T>(ctx, lp, s, attrs_);
        },
        "SoftmaxCrossEntropyLoss");
  }

 private:
  LossAttributes attrs_;
};

template <typename K>
KernelFactory LossFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    TS_ASSIGN_OR_RETURN(LossAttributes attrs, ParseLossAttributes(init.node));
    return std::unique_ptr<Kernel>(std::make_unique<K>(attrs));
  };
}

}  // namespace

KernelFactory MakeNegativeLogLikelihoodLossFactory() { return LossFactory<NllLossKernel>(); }
KernelFactory MakeSoftmaxCrossEntropyLossFactory() { return LossFactory<SoftmaxCrossEntropyKernel>(); }

}  // namespace tessera
