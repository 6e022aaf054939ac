// GridSample (opset 16; opset 20's 'linear'/'cubic' spellings and 5-D volumes, image_grid_sample_3d.cc):
// samples X[N, C, H, W] at the normalized locations of grid[N, H_out, W_out, 2] (x, y in [-1, 1]).
//
// Semantics follow ONNX Runtime (and PyTorch, which the spec points to): locations are denormalized per
// align_corners, rounded (nearest, half to even) or not, pulled inside by the padding mode, and then
// every tap of the interpolation kernel is padded again (zeros: outside reads 0; border: clamped;
// reflection: reflected). Bicubic uses Keys' kernel with a = -0.75.
//
// Each batch image first turns its grid into a sampling plan (per output pixel, K tap offsets into one
// channel plane and K weights: 1 for nearest, 4 bilinear, 16 bicubic); every channel plane is then a
// K-tap gather, which keeps the per-channel loop branch-free and lets planes run in parallel.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ops/cpu/common/numeric_traits.h"
#include "ops/cpu/common/node_kernel_factory.h"
#include "ops/cpu/image/image_grid_sample_3d.h"
#include "ops/cpu/image/image_kernels.h"

namespace tessera {
namespace {

enum class SampleMode { kNearest, kLinear, kCubic };
enum class PaddingMode { kZeros, kBorder, kReflection };

// Reflects x into [low, high] as often as needed.
double Reflect(double x, double low, double high) {
  const double range = high - low;
  if (range <= 0) return low;
  if (x < low) {
    const double d = low - x;
    const double n = std::floor(d / range), r = d - n * range;
    return std::fmod(n, 2.0) == 0 ? low + r : high - r;
  }
  if (x > high) {
    const double d = x - high;
    const double n = std::floor(d / range), r = d - n * range;
    return std::fmod(n, 2.0) == 0 ? high - r : low + r;
  }
  return x;
}

struct Geometry {
  int64_t h, w;
  bool align_corners;
  PaddingMode padding;
  // The extent that reflection uses: pixel centres (align_corners) or pixel edges.
  double x_min() const { return align_corners ? 0.0 : -0.5; }
  double y_min() const { return x_min(); }
  double x_max() const { return align_corners ? static_cast<double>(w - 1) : static_cast<double>(w) - 0.5; }
  double y_max() const { return align_corners ? static_cast<double>(h - 1) : static_cast<double>(h) - 0.5; }

  double Denormalize(double v, int64_t size) const {
    return align_corners ? (v + 1) / 2 * static_cast<double>(size - 1) : ((v + 1) * static_cast<double>(size) - 1) / 2;
  }
  // Offset of tap (row, col) in a channel plane after padding, or -1 when it reads a zero.
  int64_t TapOffset(int64_t row, int64_t col) const {
    if (padding == PaddingMode::kZeros) return row >= 0 && row < h && col >= 0 && col < w ? row * w + col : -1;
    if (padding == PaddingMode::kBorder) {
      return std::clamp<int64_t>(row, 0, h - 1) * w + std::clamp<int64_t>(col, 0, w - 1);
    }
    const int64_t r =
        std::clamp<int64_t>(static_cast<int64_t>(Reflect(static_cast<double>(row), y_min(), y_max())), 0, h - 1);
    const int64_t c =
        std::clamp<int64_t>(static_cast<int64_t>(Reflect(static_cast<double>(col), x_min(), x_max())), 0, w - 1);
    return r * w + c;
  }
};

// Keys' cubic convolution weights for the taps at -1, 0, 1, 2 around a point at fraction t in [0, 1).
void CubicWeights(double t, double out[4]) {
  constexpr double a = -0.75;
  auto near = [&](double x) { return ((a + 2) * x - (a + 3)) * x * x + 1; };
  auto far = [&](double x) { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a; };
  out[0] = far(t + 1);
  out[1] = near(t);
  out[2] = near(1 - t);
  out[3] = far(2 - t);
}

// Fills the K taps (offset, weight) of the sampling location (x, y) in pixel units.
void PlanPoint(const Geometry& g, SampleMode mode, double x, double y, int64_t* offsets, double* weights) {
  if (mode == SampleMode::kNearest) {
    x = std::nearbyint(x);
    y = std::nearbyint(y);
  }
  // Bicubic pads only its taps (each clamped or reflected on its own), not the location itself, as
  // PyTorch and ONNX Runtime do; nearest and bilinear pull the location inside first.
  if (mode != SampleMode::kCubic && (x < g.x_min() || x > g.x_max() || y < g.y_min() || y > g.y_max())) {
    if (g.padding == PaddingMode::kBorder) {
      x = std::clamp(x, 0.0, static_cast<double>(g.w - 1));
      y = std::clamp(y, 0.0, static_cast<double>(g.h - 1));
    } else if (g.padding == PaddingMode::kReflection) {
      x = Reflect(x, g.x_min(), g.x_max());
      y = Reflect(y, g.y_min(), g.y_max());
    }
  }
  // Far-away (or NaN) locations must not overflow the tap arithmetic; they read zeros or the border.
  x = std::isnan(x) ? -2.0 : std::clamp(x, -2.0 - static_cast<double>(g.w), 2.0 * static_cast<double>(g.w) + 2.0);
  y = std::isnan(y) ? -2.0 : std::clamp(y, -2.0 - static_cast<double>(g.h), 2.0 * static_cast<double>(g.h) + 2.0);
  if (mode == SampleMode::kNearest) {
    offsets[0] = g.TapOffset(static_cast<int64_t>(y), static_cast<int64_t>(x));
    weights[0] = 1.0;
    return;
  }
  const double fx = std::floor(x), fy = std::floor(y);
  const int64_t x0 = static_cast<int64_t>(fx), y0 = static_cast<int64_t>(fy);
  if (mode == SampleMode::kLinear) {
    const double dx = x - fx, dy = y - fy;
    const double wx[2] = {1 - dx, dx}, wy[2] = {1 - dy, dy};
    for (int i = 0; i < 2; ++i) {
      for (int j = 0; j < 2; ++j) {
        offsets[i * 2 + j] = g.TapOffset(y0 + i, x0 + j);
        weights[i * 2 + j] = wy[i] * wx[j];
      }
    }
    return;
  }
  double wx[4], wy[4];
  CubicWeights(x - fx, wx);
  CubicWeights(y - fy, wy);
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) {
      offsets[i * 4 + j] = g.TapOffset(y0 - 1 + i, x0 - 1 + j);
      weights[i * 4 + j] = wy[i] * wx[j];
    }
  }
}

// out[p] = sum over the K taps of point p of weight * plane[offset]; offset -1 reads a zero (it is not
// folded into a zero weight, which would turn an inf or NaN pixel elsewhere into NaN). K is a
// compile-time constant so the tap loop unrolls.
template <typename T, int K>
void GatherPlane(const T* plane, const int64_t* offsets, const double* weights, int64_t points, T* out) {
  using Traits = NumericTraits<T>;
  for (int64_t p = 0; p < points; ++p) {
    const int64_t* o = offsets + p * K;
    const double* wt = weights + p * K;
    double sum = 0;
    for (int k = 0; k < K; ++k) {
      if (o[k] >= 0) sum += wt[k] * static_cast<double>(Traits::Load(plane[o[k]]));
    }
    out[p] = Traits::Store(static_cast<typename Traits::Compute>(sum));
  }
}

class GridSampleKernel : public Kernel {
 public:
  GridSampleKernel(SampleMode mode, PaddingMode padding, bool align_corners)
      : mode_(mode), padding_(padding), align_corners_(align_corners) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& grid = ctx.input(1);
    if (x.rank() == 5 && ctx.opset() >= 20) {
      if (mode_ == SampleMode::kCubic) return KernelContext::Error("mode 'cubic' samples 4-D inputs only");
      return GridSample3d(ctx, mode_ == SampleMode::kNearest ? GridSample3dMode::kNearest : GridSample3dMode::kLinear,
                          padding_ == PaddingMode::kZeros    ? GridSample3dPadding::kZeros
                          : padding_ == PaddingMode::kBorder ? GridSample3dPadding::kBorder
                                                             : GridSample3dPadding::kReflection,
                          align_corners_);
    }
    if (x.rank() != 4) {
      return KernelContext::Error("input 'X' must be 4-D [N, C, H, W] (or, from opset 20, 5-D), got shape " +
                                  ShapeToString(x.shape()));
    }
    if (grid.rank() != 4 || grid.dim(0) != x.dim(0) || grid.dim(3) != 2) {
      return KernelContext::Error("input 'grid' must be [N, H_out, W_out, 2] with N = " + std::to_string(x.dim(0)) +
                                  ", got shape " + ShapeToString(grid.shape()));
    }
    const int64_t n = x.dim(0), channels = x.dim(1), h = x.dim(2), w = x.dim(3);
    const int64_t h_out = grid.dim(1), w_out = grid.dim(2);
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), {n, channels, h_out, w_out}));
    if (y->element_count() == 0) return Status::Ok();
    if (h == 0 || w == 0) {
      if (padding_ != PaddingMode::kZeros) {
        return KernelContext::Error("cannot pad an empty image " + ShapeToString(x.shape()));
      }
      return Status::Ok();  // every location is outside: zeros
    }
    const Geometry g{h, w, align_corners_, padding_};
    const int taps = mode_ == SampleMode::kNearest ? 1 : mode_ == SampleMode::kLinear ? 4 : 16;
    const int64_t points = h_out * w_out;
    // Plan and grid live in Tensors so that their size is checked against the allocation limit.
    TS_ASSIGN_OR_RETURN(Tensor offset_table, Tensor::AllocateUninitialized(DType::kInt64, {points, taps}));
    TS_ASSIGN_OR_RETURN(Tensor weight_table, Tensor::AllocateUninitialized(DType::kFloat64, {points, taps}));
    TS_ASSIGN_OR_RETURN(Tensor locations, Tensor::AllocateUninitialized(DType::kFloat64, grid.shape()));
    TS_RETURN_IF_ERROR(DispatchFloatWithHalf(
        grid.dtype(),
        [&](auto tag) {
          using G = decltype(tag);
          const G* src = grid.data<G>();
          double* dst = locations.data<double>();
          for (int64_t i = 0; i < grid.element_count(); ++i) {
            dst[i] = static_cast<double>(NumericTraits<G>::Load(src[i]));
          }
          return Status::Ok();
        },
        "GridSample grid"));
    int64_t* offsets = offset_table.data<int64_t>();
    double* weights = weight_table.data<double>();
    return DispatchFloatWithHalf(
        x.dtype(),
        [&](auto tag) -> Status {
          using T = decltype(tag);
          for (int64_t b = 0; b < n; ++b) {
            const double* xy = locations.data<double>() + b * points * 2;
            ctx.pool().ParallelFor(points, 1024, [&](int64_t begin, int64_t end) {
              for (int64_t p = begin; p < end; ++p) {
                PlanPoint(g, mode_, g.Denormalize(xy[2 * p], w), g.Denormalize(xy[2 * p + 1], h), offsets + p * taps,
                          weights + p * taps);
              }
            });
            const T* images = x.data<T>() + b * channels * h * w;
            T* planes = y->data<T>() + b * channels * points;
            ctx.pool().ParallelFor(channels, std::max<int64_t>(1, 16384 / (points * taps)),
                                   [&](int64_t c0, int64_t c1) {
                                     for (int64_t c = c0; c < c1; ++c) {
                                       const T* in = images + c * h * w;
                                       T* out = planes + c * points;
                                       if (taps == 1) GatherPlane<T, 1>(in, offsets, weights, points, out);
                                       if (taps == 4) GatherPlane<T, 4>(in, offsets, weights, points, out);
                                       if (taps == 16) GatherPlane<T, 16>(in, offsets, weights, points, out);
                                     }
                                   });
          }
          return Status::Ok();
        },
        "GridSample");
  }

 private:
  SampleMode mode_;
  PaddingMode padding_;
  bool align_corners_;
};

StatusOr<std::unique_ptr<Kernel>> MakeGridSample(const KernelInit& init) {
  const std::string mode = init.node.GetString("mode", init.node.opset >= 20 ? "linear" : "bilinear");
  const std::string padding = init.node.GetString("padding_mode", "zeros");
  SampleMode m;
  if (mode == "nearest") {
    m = SampleMode::kNearest;
  } else if (mode == "bilinear" || mode == "linear") {
    m = SampleMode::kLinear;
  } else if (mode == "bicubic" || mode == "cubic") {
    m = SampleMode::kCubic;
  } else {
    return KernelContext::Error("attribute 'mode' must be bilinear, nearest or bicubic, got '" + mode + "'");
  }
  PaddingMode p;
  if (padding == "zeros") {
    p = PaddingMode::kZeros;
  } else if (padding == "border") {
    p = PaddingMode::kBorder;
  } else if (padding == "reflection") {
    p = PaddingMode::kReflection;
  } else {
    return KernelContext::Error("attribute 'padding_mode' must be zeros, border or reflection, got '" + padding + "'");
  }
  return std::unique_ptr<Kernel>(std::make_unique<GridSampleKernel>(m, p, init.node.GetInt("align_corners", 0) != 0));
}

}  // namespace

void RegisterGridSampleKernels(KernelRegistry& registry) {
  registry.Register("GridSample", 16, kLatestOpset, MakeGridSample);
}

}  // namespace tessera
