// LayerNormalization: normalise each row of prod(X.shape[axis:]) elements, then scale and shift.
//
// Hot in transformers ([tokens, hidden] rows), so float32 has a vectorised row kernel compiled per ISA
// (target_clones) that makes three passes over a row normally resident in L1: mean, variance of the
// centred values (no cancellation, unlike E[x^2] - E[x]^2), and the affine output. Other dtypes take a
// generic loop accumulating in double. Scale and B broadcast to X.shape[axis:] (unidirectionally);
// Mean and InvStdDev have shape X.shape[:axis] + [1] * (rank - axis).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ops/cpu/normalization/layer_norm_rows.h"
#include "ops/cpu/normalization/normalization_common.h"
#include "ops/op_helpers.h"

namespace tessera {

__attribute__((target_clones("avx512f", "avx2", "default")))
void LayerNormRowsF32(const float* x, float* y, int64_t rows, int64_t n, const float* scale, const float* bias,
                      float epsilon, float* mean_out, float* inv_std_out) {
  const float inv_n = 1.0f / static_cast<float>(n);
  for (int64_t r = 0; r < rows; ++r, x += n, y += n) {
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < n; ++i) sum += x[i];
    const float mean = sum * inv_n;
    float sq = 0.0f;
#pragma omp simd reduction(+ : sq)
    for (int64_t i = 0; i < n; ++i) sq += (x[i] - mean) * (x[i] - mean);
    const float inv_std = 1.0f / std::sqrt(sq * inv_n + epsilon);
    if (bias) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * inv_std * scale[i] + bias[i];
    } else {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * inv_std * scale[i];
    }
    if (mean_out) mean_out[r] = mean;
    if (inv_std_out) inv_std_out[r] = inv_std;
  }
}

namespace {

template <typename T, typename C>
void LayerNormRowsGeneric(const T* x, T* y, int64_t rows, int64_t n, const C* scale, const C* bias, double epsilon,
                          double* mean_out, double* inv_std_out) {
  using Traits = NumericTraits<T>;
  for (int64_t r = 0; r < rows; ++r, x += n, y += n) {
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(Traits::Load(x[i]));
    const double mean = sum / static_cast<double>(n);
    double sq = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double d = static_cast<double>(Traits::Load(x[i])) - mean;
      sq += d * d;
    }
    const double inv_std = 1.0 / std::sqrt(sq / static_cast<double>(n) + epsilon);
    for (int64_t i = 0; i < n; ++i) {
      const double v = (static_cast<double>(Traits::Load(x[i])) - mean) * inv_std * static_cast<double>(scale[i]) +
                       (bias ? static_cast<double>(bias[i]) : 0.0);
      y[i] = Traits::Store(static_cast<C>(v));
    }
    mean_out[r] = mean;
    inv_std_out[r] = inv_std;
  }
}

// Expands a Scale or B tensor to one value per element of the normalised shape.
template <typename C>
StatusOr<std::vector<C>> ExpandParam(const Tensor& t, const Shape& normalized, const char* what) {
  bool ok = t.rank() <= static_cast<int64_t>(normalized.size());
  for (int64_t d = 0; ok && d < t.rank(); ++d) {
    const int64_t want = normalized[normalized.size() - static_cast<size_t>(t.rank()) + static_cast<size_t>(d)];
    ok = t.dim(d) == want || t.dim(d) == 1;
  }
  if (!ok) {
    return KernelContext::Error(std::string(what) + " of shape " + ShapeToString(t.shape()) +
                                " does not broadcast to the normalized shape " + ShapeToString(normalized));
  }
  TS_ASSIGN_OR_RETURN(std::vector<C> values, ReadParam<C>(t, what, -1));
  const int64_t n = ShapeElementCount(normalized);
  if (static_cast<int64_t>(values.size()) == n) return values;
  std::vector<C> expanded(static_cast<size_t>(n));
  const std::vector<int64_t> strides = BroadcastStrides(t.shape(), normalized);
  const std::vector<int64_t> zero(normalized.size(), 0);
  ForEachBroadcast2(normalized, strides, zero, [&](int64_t out, int64_t in, int64_t) {
    expanded[static_cast<size_t>(out)] = values[static_cast<size_t>(in)];
  });
  return expanded;
}

class LayerNormKernel : public Kernel {
 public:
  LayerNormKernel(const Node& node, DType stats_dtype)
      : axis_(node.GetInt("axis", -1)), epsilon_(node.GetFloat("epsilon", 1e-5f)), stats_dtype_(stats_dtype) {}

  Status Run(KernelContext& ctx) override {
    if (!ctx.has_input(1)) return KernelContext::Error("input 'Scale' is required");
    const Tensor& x = ctx.input(0);
    if (x.rank() == 0) return KernelContext::Error("input 'X' must have rank >= 1, got a scalar");
    TS_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_, x.rank(), "attribute 'axis'"));
    const Shape normalized(x.shape().begin() + axis, x.shape().end());
    Shape stats_shape(x.shape().begin(), x.shape().begin() + axis);
    stats_shape.resize(x.shape().size(), 1);
    const int64_t n = ShapeElementCount(normalized);
    const int64_t rows = ShapeElementCount(stats_shape);
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), x.shape()));
    Tensor* mean = nullptr;
    Tensor* inv_std = nullptr;
    if (ctx.wants_output(1)) {
      TS_ASSIGN_OR_RETURN(mean, ctx.AllocateOutput(1, stats_dtype_, stats_shape));
    }
    if (ctx.wants_output(2)) {
      TS_ASSIGN_OR_RETURN(inv_std, ctx.AllocateOutput(2, stats_dtype_, stats_shape));
    }
    if (x.element_count() == 0) return Status::Ok();
    return DispatchFloatWithHalf(
        x.dtype(),
        [&](auto tag) -> Status {
          using T = decltype(tag);
          using C = typename NumericTraits<T>::Compute;
          TS_ASSIGN_OR_RETURN(std::vector<C> scale, ExpandParam<C>(ctx.input(1), normalized, "input 'Scale'"));
          std::vector<C> bias;
          if (ctx.has_input(2)) {
            TS_ASSIGN_OR_RETURN(bias, ExpandParam<C>(ctx.input(2), normalized, "input 'B'"));
          }
          const C* bias_ptr = bias.empty() ? nullptr : bias.data();
          const int64_t min_chunk = std::max<int64_t>(1, 16384 / n);
          if constexpr (std::is_same_v<T, float>) {
            if (stats_dtype_ == DType::kFloat32) {
              float* mean_ptr = mean ? mean->data<float>() : nullptr;
              float* inv_ptr = inv_std ? inv_std->data<float>() : nullptr;
              ctx.pool().ParallelFor(rows, min_chunk, [&](int64_t b, int64_t e) {
                LayerNormRowsF32(x.data<float>() + b * n, y->data<float>() + b * n, e - b, n, scale.data(), bias_ptr,
                                 epsilon_, mean_ptr ? mean_ptr + b : nullptr, inv_ptr ? inv_ptr + b : nullptr);
              });
              return Status::Ok();
            }
          }
          std::vector<double> mean_values(static_cast<size_t>(rows)), inv_values(static_cast<size_t>(rows));
          ctx.pool().ParallelFor(rows, min_chunk, [&](int64_t b, int64_t e) {
            LayerNormRowsGeneric(x.data<T>() + b * n, y->data<T>() + b * n, e - b, n, scale.data(), bias_ptr, epsilon_,
                                 mean_values.data() + b, inv_values.data() + b);
          });
          if (mean) WriteParam(mean_values, *mean);
          if (inv_std) WriteParam(inv_values, *inv_std);
          return Status::Ok();
        },
        "LayerNormalization");
  }

 private:
  int64_t axis_;
  float epsilon_;
  DType stats_dtype_;
};

}  // namespace

KernelFactory MakeLayerNormalizationFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    // Mean and InvStdDev are float32 per the spec (stash_type 1); honour a model that declares them
    // as another float type (double models).
    DType stats = DType::kFloat32;
    for (size_t i = 1; i < init.node.outputs.size() && i < 3; ++i) {
      const int id = init.node.outputs[i];
      if (id == kNoValue) continue;
      const DType declared = init.graph.value(id).dtype;
      if (declared == DType::kFloat64 || declared == DType::kFloat16 || declared == DType::kBFloat16) stats = declared;
    }
    return std::unique_ptr<Kernel>(std::make_unique<LayerNormKernel>(init.node, stats));
  };
}

}  // namespace tessera
