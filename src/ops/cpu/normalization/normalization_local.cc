// LpNormalization, LRN and MeanVarianceNormalization: normalisations by statistics of a neighbourhood
// (one axis, a window of channels, or a set of axes). Statistics accumulate in double; these ops are
// rare in inference graphs, so clarity wins over speed here.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ops/cpu/normalization/normalization_common.h"
#include "ops/cpu/reduction/reduction_ops.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

class LpNormKernel : public Kernel {
 public:
  explicit LpNormKernel(const Node& node) : axis_(node.GetInt("axis", -1)), p_(node.GetInt("p", 2)) {}

  Status Run(KernelContext& ctx) override {
    if (p_ != 1 && p_ != 2) return KernelContext::Error("attribute 'p' must be 1 or 2, got " + std::to_string(p_));
    const Tensor& x = ctx.input(0);
    if (x.rank() == 0) return KernelContext::Error("input must have rank >= 1, got a scalar");
    TS_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_, x.rank(), "attribute 'axis'"));
    int64_t outer = 1, k_size = x.dim(axis), inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), x.shape()));
    return DispatchFloatWithHalf(
        x.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          using Traits = NumericTraits<T>;
          using C = typename Traits::Compute;
          const T* in = x.data<T>();
          T* out = y->data<T>();
          std::vector<double> norm(static_cast<size_t>(inner));
          for (int64_t o = 0; o < outer; ++o) {
            std::fill(norm.begin(), norm.end(), 0.0);
            const int64_t base = o * k_size * inner;
            for (int64_t k = 0; k < k_size; ++k) {
              for (int64_t i = 0; i < inner; ++i) {
                const double v = static_cast<double>(Traits::Load(in[base + k * inner + i]));
                norm[static_cast<size_t>(i)] += p_ == 1 ? std::abs(v) : v * v;
              }
            }
            if (p_ == 2) {
              for (double& v : norm) v = std::sqrt(v);
            }
            // A zero vector stays zero rather than becoming NaN.
            for (int64_t k = 0; k < k_size; ++k) {
              for (int64_t i = 0; i < inner; ++i) {
                const double d = norm[static_cast<size_t>(i)];
                const int64_t e = base + k * inner + i;
                out[e] = Traits::Store(static_cast<C>(d == 0 ? 0.0 : static_cast<double>(Traits::Load(in[e])) / d));
              }
            }
          }
          return Status::Ok();
        },
        "LpNormalization");
  }

 private:
  int64_t axis_;
  int64_t p_;
};

class LrnKernel : public Kernel {
 public:
  explicit LrnKernel(const Node& node)
      : size_(node.GetInt("size", 0)),
        alpha_(node.GetFloat("alpha", 1e-4f)),
        beta_(node.GetFloat("beta", 0.75f)),
        bias_(node.GetFloat("bias", 1.0f)) {}

  Status Run(KernelContext& ctx) override {
    if (size_ <= 0) return KernelContext::Error("attribute 'size' must be positive, got " + std::to_string(size_));
    const Tensor& x = ctx.input(0);
    if (x.rank() < 2) return KernelContext::Error("input must have rank >= 2 ([N, C, ...]), got shape " + ShapeToString(x.shape()));
    const int64_t n = x.dim(0), c = x.dim(1);
    int64_t inner = 1;
    for (int64_t d = 2; d < x.rank(); ++d) inner *= x.dim(d);
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), x.shape()));
    // The window of channel ch is [ch - floor((size-1)/2), ch + ceil((size-1)/2)], clipped.
    const int64_t before = (size_ - 1) / 2, after = size_ - 1 - before;
    const double scale = static_cast<double>(alpha_) / static_cast<double>(size_);
    return DispatchFloatWithHalf(
        x.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          using Traits = NumericTraits<T>;
          using C = typename Traits::Compute;
          const T* in = x.data<T>();
          T* out = y->data<T>();
          ctx.pool().ParallelFor(n * c, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, inner * size_)), [&](int64_t b, int64_t e) {
            std::vector<double> sum(static_cast<size_t>(inner));
            for (int64_t row = b; row < e; ++row) {
              const int64_t batch = row / c, ch = row % c;
              std::fill(sum.begin(), sum.end(), 0.0);
              for (int64_t k = std::max<int64_t>(0, ch - before); k <= std::min(c - 1, ch + after); ++k) {
                const T* p = in + (batch * c + k) * inner;
                for (int64_t i = 0; i < inner; ++i) {
                  const double v = static_cast<double>(Traits::Load(p[i]));
                  sum[static_cast<size_t>(i)] += v * v;
                }
              }
              for (int64_t i = 0; i < inner; ++i) {
                const double v = static_cast<double>(Traits::Load(in[row * inner + i]));
                const double d = std::pow(static_cast<double>(bias_) + scale * sum[static_cast<size_t>(i)], static_cast<double>(beta_));
                out[row * inner + i] = Traits::Store(static_cast<C>(v / d));
              }
            }
          });
          return Status::Ok();
        },
        "LRN");
  }

 private:
  int64_t size_;
  float alpha_, beta_, bias_;
};

// Accumulators for MeanVarianceNormalization's two passes over a ReducePlan (see reduction_ops.h).
template <typename C>
struct MvnSum {
  using Acc = double;
  static Acc Init() { return 0.0; }
  static Acc Step(Acc a, C x, Acc) { return a + static_cast<double>(x); }
  static Acc Combine(Acc a, Acc b) { return a + b; }
};
template <typename C>
struct MvnCentredSquares : MvnSum<C> {
  static double Step(double a, C x, double mean) {
    return a + (static_cast<double>(x) - mean) * (static_cast<double>(x) - mean);
  }
};

class MvnKernel : public Kernel {
 public:
  explicit MvnKernel(const Node& node) : axes_(node.HasAttribute("axes") ? node.GetInts("axes") : std::vector<int64_t>{0, 2, 3}) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    std::vector<bool> reduced(static_cast<size_t>(x.rank()), false);
    for (int64_t axis : axes_) {
      TS_ASSIGN_OR_RETURN(int64_t a, NormalizeAxis(axis, x.rank(), "axes value"));
      if (reduced[static_cast<size_t>(a)]) return KernelContext::Error("axes contains axis " + std::to_string(axis) + " twice");
      reduced[static_cast<size_t>(a)] = true;
    }
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), x.shape()));
    if (x.element_count() == 0) return Status::Ok();
    const ReducePlan plan = MakeReducePlan(x.shape(), reduced);
    const size_t outputs = plan.groups.size() * static_cast<size_t>(plan.inner);
    return DispatchFloatWithHalf(
        x.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          using Traits = NumericTraits<T>;
          using C = typename Traits::Compute;
          const T* in = x.data<T>();
          T* out = y->data<T>();
          std::vector<double> mean(outputs), denom(outputs);
          const double count = static_cast<double>(plan.count);
          reduce::RunPlan<MvnSum<C>>(in, plan, nullptr, ctx.pool(), [&](int64_t i, double s) { mean[static_cast<size_t>(i)] = s / count; });
          reduce::RunPlan<MvnCentredSquares<C>>(in, plan, mean.data(), ctx.pool(), [&](int64_t i, double s) {
            denom[static_cast<size_t>(i)] = std::sqrt(s / count) + 1e-9;  // the spec's function adds 1e-9 to the std
          });
          // Every element, with the index of the statistics it belongs to (the plan's output index).
          for (size_t g = 0; g < plan.groups.size(); ++g) {
            for (int64_t block : plan.blocks) {
              const int64_t base = plan.groups[g] + block;
              for (int64_t l = 0; l < plan.run * plan.inner; ++l) {
                const size_t o = g * static_cast<size_t>(plan.inner) + static_cast<size_t>(plan.inner == 1 ? 0 : l);
                const double v = static_cast<double>(Traits::Load(in[base + l]));
                out[base + l] = Traits::Store(static_cast<C>((v - mean[o]) / denom[o]));
              }
            }
          }
          return Status::Ok();
        },
        "MeanVarianceNormalization");
  }

 private:
  std::vector<int64_t> axes_;
};

template <typename K>
KernelFactory Factory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<K>(init.node));
  };
}

}  // namespace

KernelFactory MakeLpNormalizationFactory() { return Factory<LpNormKernel>(); }
KernelFactory MakeLrnFactory() { return Factory<LrnKernel>(); }
KernelFactory MakeMeanVarianceNormalizationFactory() { return Factory<MvnKernel>(); }

}  // namespace tessera
