// com.tessera ChannelScaleChannelsLast: y = x * s for an image x whose bytes are NHWC under its [N, C, H, W]
// shape and a per-channel scale s of shape [N, C, 1, 1] or [1, C, 1, 1]; y has x's layout. It is the Mul of
// a squeeze-excitation block (MobileNetV3, EfficientNet) between two channels-last convolutions, which
// ChooseConvLayouts (graph/passes/conv_fusion.h) rewrites so that the block's value is not reordered to
// NCHW and back around the Mul. float32 only.
#include <algorithm>

#include "graph/layout.h"
#include "ops/cpu/elementwise/elementwise_registration.h"

namespace tessera {
namespace {

class ChannelScaleChannelsLastKernel : public Kernel {
 public:
  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& s = ctx.input(1);
    if (x.dtype() != DType::kFloat32 || s.dtype() != DType::kFloat32 || x.rank() != 4)
      return KernelContext::Error(std::string(kChannelsLastChannelScale) + " needs a float32 image and scale, got X " +
                                  ShapeToString(x.shape()) + " (" + DTypeName(x.dtype()) + ") and S " +
                                  ShapeToString(s.shape()) + " (" + DTypeName(s.dtype()) + ")");
    const int64_t batch = x.dim(0), channels = x.dim(1), pixels = x.dim(2) * x.dim(3);
    if (s.rank() != 4 || (s.dim(0) != batch && s.dim(0) != 1) || s.dim(1) != channels || s.dim(2) != 1 ||
        s.dim(3) != 1)
      return KernelContext::Error(std::string(kChannelsLastChannelScale) + " scale S of shape " +
                                  ShapeToString(s.shape()) + " must be [N or 1, C, 1, 1] for X of shape " +
                                  ShapeToString(x.shape()));
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, x.dtype(), x.shape()));
    const float* in = x.data<float>();
    const float* scale = s.data<float>();
    float* out = y->data<float>();
    const int64_t rows = batch * pixels;
    ctx.pool().ParallelFor(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, channels)),
                           [&](int64_t begin, int64_t end) {
                             for (int64_t r = begin; r < end; ++r) {
                               const float* sc = scale + (s.dim(0) == 1 ? 0 : r / pixels) * channels;
                               const float* xr = in + r * channels;
                               float* yr = out + r * channels;
                               for (int64_t c = 0; c < channels; ++c) yr[c] = xr[c] * sc[c];
                             }
                           });
    return Status::Ok();
  }
};

}  // namespace

void RegisterElementwiseChannelScaleKernels(KernelRegistry& registry) {
  KernelDef def;
  def.op_type = kChannelsLastChannelScale;
  def.domain = kTesseraDomain;
  def.since_opset = 1;
  def.dtypes = {DType::kFloat32};
  def.factory = [](const KernelInit&) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<ChannelScaleChannelsLastKernel>());
  };
  registry.Register(std::move(def));
}

}  // namespace tessera
