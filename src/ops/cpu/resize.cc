// Resize (opsets 10-13) and Upsample (opsets 7-9): n-dimensional nearest, linear and cubic resampling.
//
// Interpolation is separable: the tensor is resampled one axis at a time, innermost first, each pass
// turning an axis of length in into out with a small table of (source index, weight) taps per output
// index. This matches the ONNX reference, which also interpolates recursively axis by axis (including
// where tf_crop_and_resize extrapolates). Axes whose size and coordinates do not change are skipped.
#include <cmath>

#include "ops/cpu/resize_common.h"
#include "ops/dispatch.h"
#include "ops/op_helpers.h"
#include "ops/op_list.h"

namespace tessera {

namespace {

// Applies one axis's taps: out[o, j, i] = sum_k w[j][k] * in[o, idx[j][k], i] (or the extrapolation value).
template <typename T>
void ResampleAxis(const T* in, T* out, int64_t outer, int64_t len_in, int64_t inner, const AxisTaps& taps,
                  float extrapolation, ThreadPool& pool) {
  const int64_t len_out = static_cast<int64_t>(taps.size());
  pool.ParallelFor(outer * len_out, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, inner)), [&](int64_t b, int64_t e) {
    std::vector<float> acc(static_cast<size_t>(inner));
    for (int64_t row = b; row < e; ++row) {
      int64_t o = row / len_out, j = row % len_out;
      const OutputTaps& t = taps[static_cast<size_t>(j)];
      T* dst = out + row * inner;
      if (t.extrapolate) {
        for (int64_t i = 0; i < inner; ++i) dst[i] = static_cast<T>(extrapolation);
        continue;
      }
      if (t.index.size() == 1) {  // nearest, or a tap that lands exactly on a sample
        const T* src = in + (o * len_in + t.index[0]) * inner;
        std::copy(src, src + inner, dst);
        continue;
      }
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (size_t k = 0; k < t.index.size(); ++k) {
        const T* src = in + (o * len_in + t.index[k]) * inner;
        float w = t.weight[k];
        for (int64_t i = 0; i < inner; ++i) acc[static_cast<size_t>(i)] += w * static_cast<float>(src[i]);
      }
      for (int64_t i = 0; i < inner; ++i) dst[i] = RoundIfIntegral<T>(acc[static_cast<size_t>(i)]);
    }
  });
}

class ResizeKernel : public Kernel {
 public:
  explicit ResizeKernel(ResizeAttributes attrs) : attrs_(std::move(attrs)) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    TS_ASSIGN_OR_RETURN(ResizePlan plan, PlanResize(ctx, attrs_));
    return DispatchResizable(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      Shape shape = x.shape();
      Tensor current = x;
      // Innermost axis first, as the reference recursion does.
      for (int64_t axis = x.rank() - 1; axis >= 0; --axis) {
        size_t a = static_cast<size_t>(axis);
        if (plan.identity[a]) continue;
        Shape next = shape;
        next[a] = plan.output_shape[a];
        TS_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(x.dtype(), next));
        int64_t outer = 1, inner = 1;
        for (size_t d = 0; d < a; ++d) outer *= shape[d];
        for (size_t d = a + 1; d < shape.size(); ++d) inner *= shape[d];
        ResampleAxis<T>(current.data<T>(), t.data<T>(), outer, shape[a], inner, plan.taps[a], attrs_.extrapolation_value,
                        ctx.pool());
        current = std::move(t);
        shape = std::move(next);
      }
      ctx.SetOutput(0, current.buffer() == x.buffer() ? *current.Clone() : current);
      return Status::Ok();
    });
  }

 private:
  ResizeAttributes attrs_;
};

StatusOr<std::unique_ptr<Kernel>> CreateResize(const KernelInit& init, bool is_upsample) {
  TS_ASSIGN_OR_RETURN(ResizeAttributes attrs, ParseResizeAttributes(init.node, is_upsample));
  return std::unique_ptr<Kernel>(std::make_unique<ResizeKernel>(std::move(attrs)));
}

}  // namespace

void RegisterResizeKernels(KernelRegistry& registry) {
  registry.Register("Resize", 10, kLatestOpset, [](const KernelInit& init) { return CreateResize(init, false); });
  registry.Register("Upsample", 7, 9, [](const KernelInit& init) { return CreateResize(init, true); });
}

}  // namespace tessera
