// MaxRoiPool-1 and MaxUnpool-9/11 (see pool_roi_unpool.h).
//
// MaxRoiPool follows Caffe's (and ONNX Runtime's) quantisation: region corners are scaled and rounded,
// the region is split into pooled_shape bins with floor/ceil edges, and empty bins give 0.
#include "ops/cpu/pool/pool_roi_unpool.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "ops/cpu/common/window_geometry.h"
#include "ops/cpu/common/numeric_traits.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

class MaxRoiPoolKernel : public Kernel {
 public:
  MaxRoiPoolKernel(int64_t pooled_h, int64_t pooled_w, float scale) : ph_(pooled_h), pw_(pooled_w), scale_(scale) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& rois = ctx.input(1);
    if (x.rank() != 4)
      return KernelContext::Error("MaxRoiPool needs X [N, C, H, W], got shape " + ShapeToString(x.shape()));
    if (rois.rank() != 2 || rois.dim(1) != 5)
      return KernelContext::Error("MaxRoiPool needs rois [num_rois, 5], got shape " + ShapeToString(rois.shape()));
    if (rois.dtype() != x.dtype())
      return KernelContext::Error(std::string("MaxRoiPool rois dtype ") + DTypeName(rois.dtype()) +
                                  " differs from X's " + DTypeName(x.dtype()));
    const int64_t channels = x.dim(1), height = x.dim(2), width = x.dim(3), num_rois = rois.dim(0);
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, x.dtype(), {num_rois, channels, ph_, pw_}));
    auto run = [&](auto tag) -> Status {
      using T = decltype(tag);
      using Traits = NumericTraits<T>;
      const T* r = rois.data<T>();
      for (int64_t n = 0; n < num_rois; ++n) {
        const double batch = Traits::Load(r[n * 5]);
        if (!(batch >= 0 && batch < static_cast<double>(x.dim(0))))
          return KernelContext::Error("MaxRoiPool roi " + std::to_string(n) + " has batch index " +
                                      std::to_string(batch) + " outside X of shape " + ShapeToString(x.shape()));
      }
      ctx.pool().ParallelFor(num_rois * channels, 1, [&](int64_t begin, int64_t end) {
        for (int64_t nc = begin; nc < end; ++nc) {
          const int64_t n = nc / channels, c = nc % channels;
          const T* roi = r + n * 5;
          auto corner = [&](int i) {
            return static_cast<int64_t>(std::round(static_cast<double>(Traits::Load(roi[i])) * scale_));
          };
          const int64_t batch = static_cast<int64_t>(Traits::Load(roi[0]));
          const int64_t start_w = corner(1), start_h = corner(2), end_w = corner(3), end_h = corner(4);
          const double bin_h =
              static_cast<double>(std::max<int64_t>(end_h - start_h + 1, 1)) / static_cast<double>(ph_);
          const double bin_w =
              static_cast<double>(std::max<int64_t>(end_w - start_w + 1, 1)) / static_cast<double>(pw_);
          const T* plane = x.data<T>() + (batch * channels + c) * height * width;
          T* out = y->data<T>() + nc * ph_ * pw_;
          for (int64_t i = 0; i < ph_; ++i) {
            const int64_t h0 = std::clamp<int64_t>(static_cast<int64_t>(std::floor(i * bin_h)) + start_h, 0, height);
            const int64_t h1 =
                std::clamp<int64_t>(static_cast<int64_t>(std::ceil((i + 1) * bin_h)) + start_h, 0, height);
            for (int64_t j = 0; j < pw_; ++j) {
              const int64_t w0 = std::clamp<int64_t>(static_cast<int64_t>(std::floor(j * bin_w)) + start_w, 0, width);
              const int64_t w1 =
                  std::clamp<int64_t>(static_cast<int64_t>(std::ceil((j + 1) * bin_w)) + start_w, 0, width);
              typename Traits::Compute best = 0;
              if (h1 > h0 && w1 > w0) {
                best = std::numeric_limits<typename Traits::Compute>::lowest();
                for (int64_t h = h0; h < h1; ++h) {
                  for (int64_t w = w0; w < w1; ++w) best = std::max(best, Traits::Load(plane[h * width + w]));
                }
              }
              out[i * pw_ + j] = Traits::Store(best);
            }
          }
        }
      });
      return Status::Ok();
    };
    if (x.dtype() == DType::kFloat16) return run(Float16{});
    return DispatchFloat(x.dtype(), run, "MaxRoiPool");
  }

 private:
  int64_t ph_, pw_;
  float scale_;
};

class MaxUnpoolKernel : public Kernel {
 public:
  explicit MaxUnpoolKernel(WindowAttributes attrs) : attrs_(std::move(attrs)) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& indices = ctx.input(1);
    if (x.rank() < 3)
      return KernelContext::Error("MaxUnpool needs X [N, C, spatial...], got shape " + ShapeToString(x.shape()));
    if (indices.dtype() != DType::kInt64 || indices.shape() != x.shape())
      return KernelContext::Error("MaxUnpool indices I must be int64 of X's shape " + ShapeToString(x.shape()) +
                                  ", got " + DTypeName(indices.dtype()) + " " + ShapeToString(indices.shape()));
    // The shape MaxPool's indices refer to.
    const size_t r = x.shape().size() - 2;
    if (attrs_.kernel_shape.size() != r || (!attrs_.strides.empty() && attrs_.strides.size() != r) ||
        (!attrs_.pads.empty() && attrs_.pads.size() != 2 * r))
      return KernelContext::Error("MaxUnpool kernel_shape " + IntsToString(attrs_.kernel_shape) + ", strides " +
                                  IntsToString(attrs_.strides) + " and pads " + IntsToString(attrs_.pads) +
                                  " do not fit X of shape " + ShapeToString(x.shape()));
    Shape inferred = {x.dim(0), x.dim(1)};
    for (size_t i = 0; i < r; ++i) {
      const int64_t s = attrs_.strides.empty() ? 1 : attrs_.strides[i];
      const int64_t pads = attrs_.pads.empty() ? 0 : attrs_.pads[i] + attrs_.pads[r + i];
      inferred.push_back((x.dim(static_cast<int64_t>(i) + 2) - 1) * s + attrs_.kernel_shape[i] - pads);
      if (inferred.back() < 0)
        return KernelContext::Error("MaxUnpool output would have negative size for X of shape " +
                                    ShapeToString(x.shape()));
    }
    Shape y_shape = inferred;
    if (ctx.has_input(2)) {
      TS_ASSIGN_OR_RETURN(y_shape, ReadInt64Values(ctx.input(2), "MaxUnpool output_shape"));
      if (y_shape.size() != x.shape().size() || ShapeElementCount(y_shape) < 0)
        return KernelContext::Error("MaxUnpool output_shape " + ShapeToString(y_shape) + " does not fit X of shape " +
                                    ShapeToString(x.shape()));
    }
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), y_shape));
    const int64_t total = ShapeElementCount(inferred), count = x.element_count();
    const int64_t* raw = indices.data<int64_t>();
    // A larger output_shape pads the inferred output at the end of each dim (as the ONNX tests expect), so
    // indices are re-encoded from the inferred shape's coordinates into the output's.
    std::vector<int64_t> idx(static_cast<size_t>(count));
    const std::vector<int64_t> in_strides = ContiguousStrides(inferred), out_strides = ContiguousStrides(y_shape);
    for (int64_t i = 0; i < count; ++i) {
      if (raw[i] < 0 || raw[i] >= total)
        return KernelContext::Error("MaxUnpool index " + std::to_string(raw[i]) + " at position " + std::to_string(i) +
                                    " is outside the unpooled shape " + ShapeToString(inferred));
      int64_t rest = raw[i], flat = 0;
      for (size_t d = 0; d < inferred.size(); ++d) {
        const int64_t coord = rest / in_strides[d];
        rest %= in_strides[d];
        if (coord >= y_shape[d])
          return KernelContext::Error("MaxUnpool index " + std::to_string(raw[i]) + " of unpooled shape " +
                                      ShapeToString(inferred) + " falls outside output_shape " +
                                      ShapeToString(y_shape));
        flat += coord * out_strides[d];
      }
      idx[static_cast<size_t>(i)] = flat;
    }
    return DispatchByElementSize(
        x.dtype(),
        [&](auto tag) -> Status {
          using T = decltype(tag);
          if constexpr (std::is_same_v<T, std::string>) {
            return UnsupportedDType("MaxUnpool", x.dtype());
          } else {
            const T* src = x.data<T>();
            T* dst = y->data<T>();
            for (int64_t i = 0; i < count; ++i) dst[idx[i]] = src[i];
            return Status::Ok();
          }
        },
        "MaxUnpool");
  }

 private:
  WindowAttributes attrs_;
};

}  // namespace

KernelFactory MaxRoiPoolFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    TS_RETURN_IF_ERROR(RequireInputs(init.node, 2));
    const std::vector<int64_t> pooled = init.node.GetInts("pooled_shape");
    if (pooled.size() != 2 || pooled[0] <= 0 || pooled[1] <= 0)
      return InvalidArgument("MaxRoiPool attribute 'pooled_shape' must be two positive values, got " +
                             IntsToString(pooled));
    return std::unique_ptr<Kernel>(
        std::make_unique<MaxRoiPoolKernel>(pooled[0], pooled[1], init.node.GetFloat("spatial_scale", 1.0f)));
  };
}

KernelFactory MaxUnpoolFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    TS_RETURN_IF_ERROR(RequireInputs(init.node, 2));
    TS_ASSIGN_OR_RETURN(WindowAttributes attrs, ReadWindowAttributes(init.node));
    if (attrs.kernel_shape.empty()) return InvalidArgument("MaxUnpool needs the attribute 'kernel_shape'");
    return std::unique_ptr<Kernel>(std::make_unique<MaxUnpoolKernel>(std::move(attrs)));
  };
}

}  // namespace tessera
