// Volumetric GridSample (see the header). Each location is denormalised per axis, rounded (nearest,
// half to even) or not, pulled inside by the padding mode, and every tap is padded again, as in 2-D.
#include "ops/cpu/image/image_grid_sample_3d.h"

#include <algorithm>
#include <cmath>

#include "ops/cpu/common/numeric_traits.h"

namespace tessera {
namespace {

double ReflectInto(double x, double low, double high) {
  const double range = high - low;
  if (range <= 0) return low;
  if (x < low) {
    const double d = low - x, n = std::floor(d / range), r = d - n * range;
    return std::fmod(n, 2.0) == 0 ? low + r : high - r;
  }
  if (x > high) {
    const double d = x - high, n = std::floor(d / range), r = d - n * range;
    return std::fmod(n, 2.0) == 0 ? high - r : low + r;
  }
  return x;
}

struct Axis {
  int64_t size;
  bool align_corners;
  GridSample3dPadding padding;
  double min() const { return align_corners ? 0.0 : -0.5; }
  double max() const { return align_corners ? static_cast<double>(size - 1) : static_cast<double>(size) - 0.5; }
  double Denormalize(double v) const {
    return align_corners ? (v + 1) / 2 * static_cast<double>(size - 1) : ((v + 1) * static_cast<double>(size) - 1) / 2;
  }
  // The location pulled inside by the padding mode, kept finite and near the volume.
  double Pad(double v) const {
    if (v < min() || v > max()) {
      if (padding == GridSample3dPadding::kBorder) v = std::clamp(v, 0.0, static_cast<double>(size - 1));
      if (padding == GridSample3dPadding::kReflection) v = ReflectInto(v, min(), max());
    }
    const double s = static_cast<double>(size);
    return std::isnan(v) ? -2.0 : std::clamp(v, -2.0 - s, 2.0 * s + 2.0);
  }
  // The index tap i reads, or -1 for a zero.
  int64_t Tap(int64_t i) const {
    if (padding == GridSample3dPadding::kZeros) return i >= 0 && i < size ? i : -1;
    if (padding == GridSample3dPadding::kBorder) return std::clamp<int64_t>(i, 0, size - 1);
    return std::clamp<int64_t>(static_cast<int64_t>(ReflectInto(static_cast<double>(i), min(), max())), 0, size - 1);
  }
};

}  // namespace

Status GridSample3d(KernelContext& ctx, GridSample3dMode mode, GridSample3dPadding padding, bool align_corners) {
  const Tensor& x = ctx.input(0);
  const Tensor& grid = ctx.input(1);
  if (grid.rank() != 5 || grid.dim(0) != x.dim(0) || grid.dim(4) != 3) {
    return KernelContext::Error("input 'grid' must be [N, D_out, H_out, W_out, 3] with N = " + std::to_string(x.dim(0)) +
                                " for a 5-D 'X', got shape " + ShapeToString(grid.shape()));
  }
  const int64_t n = x.dim(0), channels = x.dim(1), d = x.dim(2), h = x.dim(3), w = x.dim(4);
  const int64_t points = grid.dim(1) * grid.dim(2) * grid.dim(3);
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), {n, channels, grid.dim(1), grid.dim(2), grid.dim(3)}));
  if (y->element_count() == 0) return Status::Ok();
  if (d == 0 || h == 0 || w == 0) {
    if (padding != GridSample3dPadding::kZeros) return KernelContext::Error("cannot pad an empty volume");
    return Status::Ok();
  }
  const Axis ax{w, align_corners, padding}, ay{h, align_corners, padding}, az{d, align_corners, padding};
  std::vector<double> loc(static_cast<size_t>(grid.element_count()));
  TS_RETURN_IF_ERROR(DispatchFloatWithHalf(
      grid.dtype(),
      [&](auto tag) {
        using G = decltype(tag);
        for (size_t i = 0; i < loc.size(); ++i) loc[i] = static_cast<double>(NumericTraits<G>::Load(grid.data<G>()[i]));
        return Status::Ok();
      },
      "GridSample grid"));
  const int taps = mode == GridSample3dMode::kNearest ? 1 : 8;
  std::vector<int64_t> offsets(static_cast<size_t>(points * taps));
  std::vector<double> weights(static_cast<size_t>(points * taps));
  return DispatchFloatWithHalf(
      x.dtype(),
      [&](auto tag) {
        using T = decltype(tag);
        using Traits = NumericTraits<T>;
        for (int64_t b = 0; b < n; ++b) {
          for (int64_t p = 0; p < points; ++p) {
            const double* g = loc.data() + (b * points + p) * 3;
            double px = ax.Pad(ax.Denormalize(g[0])), py = ay.Pad(ay.Denormalize(g[1])), pz = az.Pad(az.Denormalize(g[2]));
            int64_t* o = offsets.data() + p * taps;
            double* wt = weights.data() + p * taps;
            if (mode == GridSample3dMode::kNearest) {
              const int64_t i = ax.Tap(static_cast<int64_t>(std::nearbyint(px)));
              const int64_t j = ay.Tap(static_cast<int64_t>(std::nearbyint(py)));
              const int64_t k = az.Tap(static_cast<int64_t>(std::nearbyint(pz)));
              o[0] = i < 0 || j < 0 || k < 0 ? -1 : (k * h + j) * w + i;
              wt[0] = 1.0;
              continue;
            }
            const double fx = std::floor(px), fy = std::floor(py), fz = std::floor(pz);
            const double dx = px - fx, dy = py - fy, dz = pz - fz;
            for (int t = 0; t < 8; ++t) {
              const int cx = t & 1, cy = (t >> 1) & 1, cz = (t >> 2) & 1;
              const int64_t i = ax.Tap(static_cast<int64_t>(fx) + cx), j = ay.Tap(static_cast<int64_t>(fy) + cy);
              const int64_t k = az.Tap(static_cast<int64_t>(fz) + cz);
              o[t] = i < 0 || j < 0 || k < 0 ? -1 : (k * h + j) * w + i;
              wt[t] = (cx ? dx : 1 - dx) * (cy ? dy : 1 - dy) * (cz ? dz : 1 - dz);
            }
          }
          ctx.pool().ParallelFor(channels, 1, [&](int64_t c0, int64_t c1) {
            for (int64_t c = c0; c < c1; ++c) {
              const T* in = x.data<T>() + (b * channels + c) * d * h * w;
              T* out = y->data<T>() + (b * channels + c) * points;
              for (int64_t p = 0; p < points; ++p) {
                double sum = 0;
                for (int t = 0; t < taps; ++t) {
                  const int64_t at = offsets[static_cast<size_t>(p * taps + t)];
                  if (at >= 0) sum += weights[static_cast<size_t>(p * taps + t)] * static_cast<double>(Traits::Load(in[at]));
                }
                out[p] = Traits::Store(static_cast<typename Traits::Compute>(sum));
              }
            }
          });
        }
        return Status::Ok();
      },
      "GridSample");
}

}  // namespace tessera
