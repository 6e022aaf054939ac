// DFT (opset 17, and opset 20 where the axis became an input) and STFT (opset 17).
//
// Both read signals laid out as [..., 1] (real) or [..., 2] (real, imaginary) and write [..., 2]. Each
// transformed line is gathered into a complex double buffer, run through an FftPlan cached by length,
// and scattered back; lines are independent, so they are spread over the thread pool.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "ops/cpu/signal/signal_fft.h"
#include "ops/cpu/common/node_kernel_factory.h"
#include "ops/cpu/signal/signal_kernels.h"
#include "ops/cpu/common/scalar_io.h"

namespace tessera {
namespace {

// Where one line of a transform lives: `count` complex (or real) values `stride` elements apart.
struct LineLayout {
  int64_t stride = 1;
  int64_t components = 1;  // 1 for a real input, 2 for complex
};

// Returns the cached plan for `length`, building it when the length changed since the last run.
StatusOr<const FftPlan*> CachedPlan(std::optional<FftPlan>& cache, int64_t length) {
  if (!cache || cache->size() != length) {
    TS_ASSIGN_OR_RETURN(FftPlan plan, FftPlan::Create(length));
    cache = std::move(plan);
  }
  return &*cache;
}

// Transforms `lines` lines: line l reads `available` values starting at in_offset(l) (zero-padding or
// truncating to the plan's length, multiplying by `window` when given), and writes the first `bins`
// outputs (as real, imaginary pairs) from out_offset(l) on, `out_stride` elements apart.
template <typename T, typename InOffset, typename OutOffset>
void TransformLines(const T* in, T* out, int64_t lines, int64_t available, LineLayout in_layout, InOffset in_offset,
                    int64_t bins, int64_t out_stride, OutOffset out_offset, const FftPlan& plan, bool inverse,
                    const std::vector<double>* window, ThreadPool& pool) {
  using Traits = NumericTraits<T>;
  using C = typename Traits::Compute;
  const int64_t length = plan.size();
  const int64_t used = std::min(available, length);
  const double scale = inverse ? 1.0 / static_cast<double>(length) : 1.0;
  const int64_t min_chunk = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, length));
  pool.ParallelFor(lines, min_chunk, [&](int64_t begin, int64_t end) {
    std::vector<Complex> signal(static_cast<size_t>(length)), spectrum(static_cast<size_t>(length));
    FftScratch scratch;
    for (int64_t l = begin; l < end; ++l) {
      const T* src = in + in_offset(l);
      for (int64_t j = 0; j < used; ++j) {
        const T* v = src + j * in_layout.stride;
        const double re = static_cast<double>(Traits::Load(v[0]));
        const double im = in_layout.components == 2 ? static_cast<double>(Traits::Load(v[1])) : 0.0;
        const double w = window ? (*window)[static_cast<size_t>(j)] : 1.0;
        signal[static_cast<size_t>(j)] = {re * w, im * w};
      }
      std::fill(signal.begin() + used, signal.end(), Complex{0, 0});
      plan.Transform(signal.data(), spectrum.data(), inverse, scratch);
      T* dst = out + out_offset(l);
      for (int64_t k = 0; k < bins; ++k) {
        const Complex v = spectrum[static_cast<size_t>(k)] * scale;
        dst[k * out_stride] = Traits::Store(static_cast<C>(v.real()));
        dst[k * out_stride + 1] = Traits::Store(static_cast<C>(v.imag()));
      }
    }
  });
}

class DftKernel : public Kernel {
 public:
  explicit DftKernel(const Node& node)
      : opset_(node.opset),
        axis_(node.GetInt("axis", 1)),
        inverse_(node.GetInt("inverse", 0) != 0),
        onesided_(node.GetInt("onesided", 0) != 0) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const int64_t rank = x.rank();
    if (rank < 2 || (x.dim(rank - 1) != 1 && x.dim(rank - 1) != 2)) {
      return KernelContext::Error("input must be [batch, signal dims..., 1 or 2], got shape " +
                                  ShapeToString(x.shape()));
    }
    // Opset 20 moved the axis from an attribute (default 1) to an optional input (default -2); a
    // negative axis counts from the back, where -1 would be the real/imaginary dim.
    int64_t axis = axis_;
    if (opset_ >= 20) {
      axis = -2;
      if (ctx.has_input(2)) {
        TS_ASSIGN_OR_RETURN(axis, ReadScalarInt(ctx.input(2), "input 'axis'"));
      }
    }
    const int64_t signal_axis = axis < 0 ? axis + rank : axis;
    if (signal_axis < 0 || signal_axis > rank - 2) {
      return KernelContext::Error("axis " + std::to_string(axis) + " is not a signal axis of input shape " +
                                  ShapeToString(x.shape()));
    }
    const int64_t n = x.dim(signal_axis);
    int64_t length = n;
    if (ctx.has_input(1)) {
      TS_ASSIGN_OR_RETURN(length, ReadScalarInt(ctx.input(1), "input 'dft_length'"));
    }
    if (length <= 0) {
      return KernelContext::Error("DFT length must be positive, got " + std::to_string(length) +
                                  (ctx.has_input(1) ? " (input 'dft_length')" : " (the signal axis)"));
    }
    // inverse with onesided is a complex-to-real transform in later revisions of the spec and undefined
    // before; refuse it rather than guess which.
    if (inverse_ && onesided_) return Unimplemented("DFT with both 'inverse' and 'onesided' set is not supported");
    const int64_t bins = onesided_ ? length / 2 + 1 : length;
    Shape out_shape = x.shape();
    out_shape[static_cast<size_t>(signal_axis)] = bins;
    out_shape.back() = 2;
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, x.dtype(), out_shape));
    if (y->element_count() == 0) return Status::Ok();
    TS_ASSIGN_OR_RETURN(const FftPlan* plan, CachedPlan(plan_, length));

    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < signal_axis; ++d) outer *= x.dim(d);
    for (int64_t d = signal_axis + 1; d < rank - 1; ++d) inner *= x.dim(d);
    const int64_t components = x.dim(rank - 1);
    const LineLayout layout{inner * components, components};
    auto in_offset = [&](int64_t l) { return ((l / inner) * n * inner + l % inner) * components; };
    auto out_offset = [&](int64_t l) { return ((l / inner) * bins * inner + l % inner) * 2; };
    return DispatchFloatWithHalf(
        x.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          TransformLines(x.data<T>(), y->data<T>(), outer * inner, n, layout, in_offset, bins, inner * 2, out_offset,
                         *plan, inverse_, nullptr, ctx.pool());
          return Status::Ok();
        },
        "DFT");
  }

 private:
  int opset_;
  int64_t axis_;
  bool inverse_, onesided_;
  std::optional<FftPlan> plan_;
};

class StftKernel : public Kernel {
 public:
  explicit StftKernel(const Node& node) : onesided_(node.GetInt("onesided", 1) != 0) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& signal = ctx.input(0);
    // [batch, length] is read as a real signal, as ONNX Runtime does.
    const bool valid = signal.rank() == 2 || (signal.rank() == 3 && (signal.dim(2) == 1 || signal.dim(2) == 2));
    if (!valid) {
      return KernelContext::Error("input 'signal' must be [batch, length, 1 or 2], got shape " +
                                  ShapeToString(signal.shape()));
    }
    TS_ASSIGN_OR_RETURN(int64_t step, ReadScalarInt(ctx.input(1), "input 'frame_step'"));
    if (step <= 0) return KernelContext::Error("input 'frame_step' must be positive, got " + std::to_string(step));
    std::vector<double> window;
    int64_t frame_length = -1;
    if (ctx.has_input(2)) {
      const Tensor& w = ctx.input(2);
      if (w.rank() != 1) {
        return KernelContext::Error("input 'window' must be 1-D, got shape " + ShapeToString(w.shape()));
      }
      TS_ASSIGN_OR_RETURN(window, ReadDoubles(w, "input 'window'"));
      frame_length = w.dim(0);
    }
    if (ctx.has_input(3)) {
      TS_ASSIGN_OR_RETURN(int64_t given, ReadScalarInt(ctx.input(3), "input 'frame_length'"));
      if (frame_length >= 0 && given != frame_length) {
        return KernelContext::Error("input 'frame_length' " + std::to_string(given) +
                                    " differs from the window's length " + std::to_string(frame_length));
      }
      frame_length = given;
    }
    if (frame_length < 0) return KernelContext::Error("one of inputs 'window' and 'frame_length' must be given");
    const int64_t batch = signal.dim(0), length = signal.dim(1), components = signal.rank() == 3 ? signal.dim(2) : 1;
    if (frame_length == 0 || frame_length > length) {
      return KernelContext::Error("frame length " + std::to_string(frame_length) + " must be in [1, " +
                                  std::to_string(length) + "], the signal's length");
    }
    const int64_t frames = (length - frame_length) / step + 1;
    const int64_t bins = onesided_ ? frame_length / 2 + 1 : frame_length;
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, signal.dtype(), {batch, frames, bins, 2}));
    if (y->element_count() == 0) return Status::Ok();
    TS_ASSIGN_OR_RETURN(const FftPlan* plan, CachedPlan(plan_, frame_length));
    const LineLayout layout{components, components};
    auto in_offset = [&](int64_t l) { return ((l / frames) * length + (l % frames) * step) * components; };
    auto out_offset = [&](int64_t l) { return l * bins * 2; };
    return DispatchFloatWithHalf(
        signal.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          TransformLines(signal.data<T>(), y->data<T>(), batch * frames, frame_length, layout, in_offset, bins, 2,
                         out_offset, *plan, false, window.empty() ? nullptr : &window, ctx.pool());
          return Status::Ok();
        },
        "STFT");
  }

 private:
  bool onesided_;
  std::optional<FftPlan> plan_;
};

}  // namespace

void RegisterFourierKernels(KernelRegistry& registry) {
  registry.Register("DFT", 17, kLatestOpset, MakeNodeKernelFactory<DftKernel>());
  registry.Register("STFT", 17, kLatestOpset, MakeNodeKernelFactory<StftKernel>());
}

}  // namespace tessera
