// SimplifiedLayerNormalization and SkipSimplifiedLayerNormalization: RMSNorm over the last axis.
//
// y = x / sqrt(mean(x^2) + epsilon) * scale, per row of the last dim (axis must be -1 or rank - 1, what
// GenAI writes). The Skip form first sums input + skip (+ bias); outputs: 0 y, 1 mean (unused by RMSNorm,
// left zero), 2 inv_std_var, 3 the sum (the next layer's residual). skip may be [.., hidden] with fewer
// rows than the input (ORT allows [seq, hidden] and [hidden]); it repeats over the leading rows.
#include <cmath>

#include "ops/cpu/genai/genai_kernels.h"

namespace tessera::genai_ops {

namespace {

Status CheckFloat(const Tensor& t, const char* what) {
  if (t.dtype() != DType::kFloat32) {
    return KernelContext::Error(std::string(what) + " is " + DTypeName(t.dtype()) + "; only float32 is supported");
  }
  return Status::Ok();
}

// Normalises `rows` rows of `n` from `x` into `y`, storing 1/rms per row in `inv_std` when given.
void RmsNormRows(const float* x, float* y, int64_t rows, int64_t n, const float* scale, float epsilon,
                 float* inv_std, ThreadPool& pool) {
  pool.ParallelFor(rows, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * n;
      float* yr = y + r * n;
      double sq = 0;
      for (int64_t i = 0; i < n; ++i) sq += static_cast<double>(xr[i]) * xr[i];
      const float inv = static_cast<float>(1.0 / std::sqrt(sq / static_cast<double>(n) + epsilon));
      for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] * inv * scale[i];
      if (inv_std) inv_std[r] = inv;
    }
  });
}

// Shape of the per-row statistics: the input's, with the last dim 1.
Shape StatsShape(const Shape& shape) {
  Shape s = shape;
  s.back() = 1;
  return s;
}

Status RunSimplified(KernelContext& ctx, float epsilon, int64_t axis) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  TS_RETURN_IF_ERROR(CheckFloat(x, "X"));
  TS_RETURN_IF_ERROR(CheckFloat(scale, "scale"));
  if (x.rank() < 1 || (axis != -1 && axis != x.rank() - 1)) {
    return KernelContext::Error("only the last axis is supported, got axis " + std::to_string(axis));
  }
  const int64_t n = x.dim(x.rank() - 1);
  if (scale.element_count() != n) {
    return KernelContext::Error("scale has " + std::to_string(scale.element_count()) + " elements, expected " +
                                std::to_string(n));
  }
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, DType::kFloat32, x.shape()));
  float* inv_std = nullptr;
  if (ctx.wants_output(1)) {
    TS_ASSIGN_OR_RETURN(Tensor * stats, ctx.AllocateOutput(1, DType::kFloat32, StatsShape(x.shape())));
    inv_std = stats->data<float>();
  }
  RmsNormRows(x.data<float>(), y->data<float>(), n ? x.element_count() / n : 0, n, scale.data<float>(), epsilon,
              inv_std, ctx.pool());
  return Status::Ok();
}

Status RunSkipSimplified(KernelContext& ctx, float epsilon) {
  const Tensor& x = ctx.input(0);
  const Tensor& skip = ctx.input(1);
  const Tensor& gamma = ctx.input(2);
  for (auto [t, what] : {std::pair{&x, "input"}, std::pair{&skip, "skip"}, std::pair{&gamma, "gamma"}}) {
    TS_RETURN_IF_ERROR(CheckFloat(*t, what));
  }
  const int64_t n = x.rank() >= 1 ? x.dim(x.rank() - 1) : 0;
  const int64_t count = x.element_count();
  const bool has_bias = ctx.has_input(3);
  if (n == 0 || gamma.element_count() != n || skip.element_count() == 0 || count % skip.element_count() != 0 ||
      skip.element_count() % n != 0 || (has_bias && ctx.input(3).element_count() != n)) {
    return KernelContext::Error("input " + ShapeToString(x.shape()) + ", skip " + ShapeToString(skip.shape()) +
                                " and gamma " + ShapeToString(gamma.shape()) + " do not fit [.., hidden] rows");
  }
  // The sum is output 3 when wanted; otherwise it lives in a scratch tensor.
  Tensor scratch;
  Tensor* sum = &scratch;
  if (ctx.wants_output(3)) {
    TS_ASSIGN_OR_RETURN(sum, ctx.AllocateUninitializedOutput(3, DType::kFloat32, x.shape()));
  } else {
    TS_ASSIGN_OR_RETURN(scratch, Tensor::AllocateUninitialized(DType::kFloat32, x.shape()));
  }
  const float* a = x.data<float>();
  const float* b = skip.data<float>();
  const float* bias = has_bias ? ctx.input(3).data<float>() : nullptr;
  float* s = sum->data<float>();
  const int64_t skip_count = skip.element_count();
  for (int64_t i = 0; i < count; ++i) s[i] = a[i] + b[i % skip_count] + (bias ? bias[i % n] : 0.0f);
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, DType::kFloat32, x.shape()));
  if (ctx.wants_output(1)) TS_RETURN_IF_ERROR(ctx.AllocateOutput(1, DType::kFloat32, StatsShape(x.shape())).status());
  float* inv_std = nullptr;
  if (ctx.wants_output(2)) {
    TS_ASSIGN_OR_RETURN(Tensor * stats, ctx.AllocateOutput(2, DType::kFloat32, StatsShape(x.shape())));
    inv_std = stats->data<float>();
  }
  RmsNormRows(s, y->data<float>(), count / n, n, gamma.data<float>(), epsilon, inv_std, ctx.pool());
  return Status::Ok();
}

}  // namespace

KernelFactory MakeSimplifiedLayerNormFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    const float epsilon = init.node.GetFloat("epsilon", 1e-5f);
    const int64_t axis = init.node.GetInt("axis", -1);
    return std::unique_ptr<Kernel>(
        new FunctionKernel([epsilon, axis](KernelContext& ctx) { return RunSimplified(ctx, epsilon, axis); }));
  };
}

KernelFactory MakeSkipSimplifiedLayerNormFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    const float epsilon = init.node.GetFloat("epsilon", 1e-5f);
    return std::unique_ptr<Kernel>(
        new FunctionKernel([epsilon](KernelContext& ctx) { return RunSkipSimplified(ctx, epsilon); }));
  };
}

}  // namespace tessera::genai_ops
