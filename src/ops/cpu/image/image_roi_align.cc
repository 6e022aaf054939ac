// RoiAlign (opsets 10 and 16): pools X[N, C, H, W] over regions rois[R, 4] = (x1, y1, x2, y2) of images
// batch_indices[R] into Y[R, C, output_height, output_width].
//
// Follows ONNX Runtime, whose kernel the ONNX reference implementation ports: each output bin averages
// (or maxes) a sampling_ratio^2 grid of bilinear samples (adaptive: ceil(roi size / output size) per
// axis when sampling_ratio is 0); samples more than one pixel outside the image count as zero, others
// are clamped to the image. 'max' takes the maximum of the weighted corner values of each sample, as
// Runtime does, not of the interpolated values. Opset 16 added coordinate_transformation_mode; before
// it the behaviour is 'output_half_pixel' (no half-pixel shift, rois at least one pixel wide).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ops/cpu/common/numeric_traits.h"
#include "ops/cpu/common/node_kernel_factory.h"
#include "ops/cpu/image/image_kernels.h"
#include "ops/cpu/common/scalar_io.h"

namespace tessera {
namespace {

// One bilinear sample: the four corner offsets into a channel plane and their weights.
struct Sample {
  int64_t offset[4];
  double weight[4];
};

struct RoiAlignParams {
  int64_t out_h = 1, out_w = 1, sampling_ratio = 0;
  double spatial_scale = 1.0;
  bool half_pixel = true;
  bool max_mode = false;
};

// Where one roi's bins lie in the feature map, and how many samples each bin takes per axis.
struct RoiGrid {
  double start_h, start_w, bin_h, bin_w;
  int64_t grid_h, grid_w;
};

RoiGrid MakeRoiGrid(const RoiAlignParams& p, const double* roi) {
  const double offset = p.half_pixel ? 0.5 : 0.0;
  const double start_w = roi[0] * p.spatial_scale - offset, start_h = roi[1] * p.spatial_scale - offset;
  double roi_w = roi[2] * p.spatial_scale - offset - start_w, roi_h = roi[3] * p.spatial_scale - offset - start_h;
  if (!p.half_pixel) {  // the legacy mode forces malformed rois to be 1x1
    roi_w = std::max(roi_w, 1.0);
    roi_h = std::max(roi_h, 1.0);
  }
  // Adaptive grids are bounded so that a huge roi cannot ask for an absurd number of samples; an empty
  // (or NaN) roi gets none and pools to 0, as in Runtime.
  auto grid = [&](double extent, int64_t bins) {
    if (p.sampling_ratio > 0) return p.sampling_ratio;
    const double g = std::ceil(extent / static_cast<double>(bins));
    return g >= 1 ? static_cast<int64_t>(std::min(g, 1024.0)) : int64_t{0};
  };
  return RoiGrid{start_h,
                 start_w,
                 roi_h / static_cast<double>(p.out_h),
                 roi_w / static_cast<double>(p.out_w),
                 grid(roi_h, p.out_h),
                 grid(roi_w, p.out_w)};
}

// The grid_h * grid_w bilinear samples of bin (ph, pw).
void PlanBin(const RoiGrid& g, int64_t ph, int64_t pw, int64_t height, int64_t width, std::vector<Sample>& samples) {
  samples.resize(static_cast<size_t>(g.grid_h * g.grid_w));
  size_t s = 0;
  for (int64_t iy = 0; iy < g.grid_h; ++iy) {
    const double yy = g.start_h + static_cast<double>(ph) * g.bin_h +
                      (static_cast<double>(iy) + 0.5) * g.bin_h / static_cast<double>(g.grid_h);
    for (int64_t ix = 0; ix < g.grid_w; ++ix, ++s) {
      double x = g.start_w + static_cast<double>(pw) * g.bin_w +
                 (static_cast<double>(ix) + 0.5) * g.bin_w / static_cast<double>(g.grid_w);
      double y = yy;
      Sample& out = samples[s];
      if (!(y >= -1.0 && y <= static_cast<double>(height) && x >= -1.0 && x <= static_cast<double>(width))) {
        out = Sample{{0, 0, 0, 0}, {0, 0, 0, 0}};  // outside the image (or NaN): contributes zero
        continue;
      }
      y = std::max(y, 0.0);
      x = std::max(x, 0.0);
      int64_t y_low = static_cast<int64_t>(y), x_low = static_cast<int64_t>(x), y_high, x_high;
      if (y_low >= height - 1) {
        y_high = y_low = height - 1;
        y = static_cast<double>(y_low);
      } else {
        y_high = y_low + 1;
      }
      if (x_low >= width - 1) {
        x_high = x_low = width - 1;
        x = static_cast<double>(x_low);
      } else {
        x_high = x_low + 1;
      }
      const double ly = y - static_cast<double>(y_low), lx = x - static_cast<double>(x_low);
      const double hy = 1 - ly, hx = 1 - lx;
      out = Sample{{y_low * width + x_low, y_low * width + x_high, y_high * width + x_low, y_high * width + x_high},
                   {hy * hx, hy * lx, ly * hx, ly * lx}};
    }
  }
}

class RoiAlignKernel : public Kernel {
 public:
  explicit RoiAlignKernel(RoiAlignParams params) : p_(params) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& rois = ctx.input(1);
    const Tensor& batch_indices = ctx.input(2);
    if (x.rank() != 4) {
      return KernelContext::Error("input 'X' must be 4-D [N, C, H, W], got shape " + ShapeToString(x.shape()));
    }
    if (rois.rank() != 2 || rois.dim(1) != 4) {
      return KernelContext::Error("input 'rois' must be [num_rois, 4], got shape " + ShapeToString(rois.shape()));
    }
    const int64_t num_rois = rois.dim(0);
    if (batch_indices.rank() != 1 || batch_indices.dim(0) != num_rois) {
      return KernelContext::Error("input 'batch_indices' must be [" + std::to_string(num_rois) + "], got shape " +
                                  ShapeToString(batch_indices.shape()));
    }
    TS_ASSIGN_OR_RETURN(std::vector<int64_t> batch, ReadInt64Values(batch_indices, "input 'batch_indices'"));
    const int64_t n = x.dim(0), channels = x.dim(1), height = x.dim(2), width = x.dim(3);
    for (int64_t r = 0; r < num_rois; ++r) {
      const int64_t b = batch[static_cast<size_t>(r)];
      if (b < 0 || b >= n) {
        return KernelContext::Error("input 'batch_indices' entry " + std::to_string(r) + " is " + std::to_string(b) +
                                    ", outside the batch of " + std::to_string(n) + " images");
      }
    }
    TS_ASSIGN_OR_RETURN(std::vector<double> boxes, ReadDoubles(rois, "input 'rois'"));
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), {num_rois, channels, p_.out_h, p_.out_w}));
    if (y->element_count() == 0 || height == 0 || width == 0) return Status::Ok();
    return DispatchFloatWithHalf(
        x.dtype(),
        [&](auto tag) {
          using T = decltype(tag);
          using Traits = NumericTraits<T>;
          using C = typename Traits::Compute;
          const int64_t bins = p_.out_h * p_.out_w;
          // One work item per (roi, bin): its samples are planned once and applied to every channel.
          ctx.pool().ParallelFor(num_rois * bins, 1, [&](int64_t begin, int64_t end) {
            std::vector<Sample> samples;
            for (int64_t item = begin; item < end; ++item) {
              const int64_t r = item / bins, bin = item % bins;
              const RoiGrid grid = MakeRoiGrid(p_, &boxes[static_cast<size_t>(r * 4)]);
              PlanBin(grid, bin / p_.out_w, bin % p_.out_w, height, width, samples);
              const int64_t count = grid.grid_h * grid.grid_w;
              for (int64_t c = 0; c < channels; ++c) {
                const T* plane = x.data<T>() + (batch[static_cast<size_t>(r)] * channels + c) * height * width;
                double value = p_.max_mode && count > 0 ? -INFINITY : 0.0;
                for (const Sample& s : samples) {
                  double corner[4];
                  for (int k = 0; k < 4; ++k)
                    corner[k] = s.weight[k] * static_cast<double>(Traits::Load(plane[s.offset[k]]));
                  if (p_.max_mode) {
                    value = std::max(value, std::max(std::max(corner[0], corner[1]), std::max(corner[2], corner[3])));
                  } else {
                    value += corner[0] + corner[1] + corner[2] + corner[3];
                  }
                }
                if (!p_.max_mode && count > 0) value /= static_cast<double>(count);
                y->data<T>()[(r * channels + c) * bins + bin] = Traits::Store(static_cast<C>(value));
              }
            }
          });
          return Status::Ok();
        },
        "RoiAlign");
  }

 private:
  RoiAlignParams p_;
};

StatusOr<std::unique_ptr<Kernel>> MakeRoiAlign(const KernelInit& init) {
  const Node& node = init.node;
  RoiAlignParams p;
  p.out_h = node.GetInt("output_height", 1);
  p.out_w = node.GetInt("output_width", 1);
  p.sampling_ratio = node.GetInt("sampling_ratio", 0);
  p.spatial_scale = node.GetFloat("spatial_scale", 1.0f);
  if (p.out_h <= 0 || p.out_w <= 0) {
    return KernelContext::Error("attributes 'output_height' and 'output_width' must be positive, got " +
                                std::to_string(p.out_h) + " and " + std::to_string(p.out_w));
  }
  if (p.sampling_ratio < 0 || p.sampling_ratio > 1024) {
    return KernelContext::Error("attribute 'sampling_ratio' must be in [0, 1024], got " +
                                std::to_string(p.sampling_ratio));
  }
  const std::string mode = node.GetString("mode", "avg");
  if (mode != "avg" && mode != "max") {
    return KernelContext::Error("attribute 'mode' must be avg or max, got '" + mode + "'");
  }
  p.max_mode = mode == "max";
  const std::string transform =
      node.GetString("coordinate_transformation_mode", node.opset >= 16 ? "half_pixel" : "output_half_pixel");
  if (transform != "half_pixel" && transform != "output_half_pixel") {
    return KernelContext::Error(
        "attribute 'coordinate_transformation_mode' must be half_pixel or output_half_pixel, got '" + transform + "'");
  }
  p.half_pixel = transform == "half_pixel";
  return std::unique_ptr<Kernel>(std::make_unique<RoiAlignKernel>(p));
}

}  // namespace

void RegisterRoiAlignKernels(KernelRegistry& registry) {
  registry.Register("RoiAlign", 10, kLatestOpset, MakeRoiAlign);
}

}  // namespace tessera
