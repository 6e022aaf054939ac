// com.tessera ResizeChannelsLast (graph/layout.h): nearest resampling of H and W for an image whose bytes
// are NHWC under its [N, C, H, W] shape, written NHWC too. ChooseConvLayouts (graph/passes/conv_fusion.h)
// makes it from the nearest Resize nodes of a feature pyramid, whose inputs and readers are channels-last
// convolutions: as a plain Resize each forced a reorder to NCHW before it and one back after it, the
// 1x96x160x160 ones of a DBNet head 2.6 ms each at 1 thread. An output pixel is one copy of C floats and
// an output row whose source row is the previous one's is one copy of that row.
#include <algorithm>
#include <cstring>

#include "graph/layout.h"
#include "ops/cpu/resize/resize_common.h"
#include "ops/op_list.h"

namespace tessera {
namespace {

// The source index of every output index along one axis, or an error where a tap is not a plain copy.
StatusOr<std::vector<int64_t>> NearestSources(const AxisTaps& taps, int64_t length, const char* axis) {
  std::vector<int64_t> sources;
  sources.reserve(taps.size());
  for (const OutputTaps& t : taps) {
    if (t.extrapolate || t.index.size() != 1 || t.weight[0] != 1.0f || t.index[0] < 0 || t.index[0] >= length)
      return KernelContext::Error(std::string(kChannelsLastResize) + " needs nearest sampling inside the image along " +
                                  axis);
    sources.push_back(t.index[0]);
  }
  return sources;
}

class ResizeChannelsLastKernel : public Kernel {
 public:
  explicit ResizeChannelsLastKernel(ResizeAttributes attrs) : attrs_(std::move(attrs)) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::kFloat32 || x.rank() != 4)
      return KernelContext::Error(std::string(kChannelsLastResize) + " needs a float32 [N, C, H, W] image, got X " +
                                  ShapeToString(x.shape()) + " (" + DTypeName(x.dtype()) + ")");
    TS_ASSIGN_OR_RETURN(ResizePlan plan, PlanResize(ctx, attrs_));
    if (!plan.identity[0] || !plan.identity[1])
      return KernelContext::Error(std::string(kChannelsLastResize) + " resizes only H and W, got X " +
                                  ShapeToString(x.shape()) + " to " + ShapeToString(plan.output_shape));
    const int64_t batch = x.dim(0), channels = x.dim(1), h_in = x.dim(2), w_in = x.dim(3);
    const int64_t h_out = plan.output_shape[2], w_out = plan.output_shape[3];
    std::vector<int64_t> rows(static_cast<size_t>(h_out)), cols(static_cast<size_t>(w_out));
    for (int64_t i = 0; i < h_out; ++i) rows[static_cast<size_t>(i)] = i;  // identity axes have no taps
    for (int64_t i = 0; i < w_out; ++i) cols[static_cast<size_t>(i)] = i;
    if (!plan.identity[2]) {
      TS_ASSIGN_OR_RETURN(rows, NearestSources(plan.taps[2], h_in, "H"));
    }
    if (!plan.identity[3]) {
      TS_ASSIGN_OR_RETURN(cols, NearestSources(plan.taps[3], w_in, "W"));
    }
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, x.dtype(), plan.output_shape));
    if (y->element_count() == 0) return Status::Ok();
    const float* in = x.data<float>();
    float* out = y->data<float>();
    const size_t pixel_bytes = static_cast<size_t>(channels) * sizeof(float);
    const int64_t row_floats = w_out * channels;
    // Whole output rows per task; a row that repeats its predecessor's source copies it, so a task starts
    // with a gathered row.
    ctx.pool().ParallelFor(batch * h_out, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, row_floats)),
                           [&](int64_t begin, int64_t end) {
                             for (int64_t r = begin; r < end; ++r) {
                               const int64_t n = r / h_out, j = r % h_out;
                               const int64_t source = rows[static_cast<size_t>(j)];
                               float* dst = out + r * row_floats;
                               if (r > begin && j > 0 && rows[static_cast<size_t>(j) - 1] == source) {
                                 std::memcpy(dst, dst - row_floats, static_cast<size_t>(row_floats) * sizeof(float));
                                 continue;
                               }
                               const float* line = in + (n * h_in + source) * w_in * channels;
                               for (int64_t i = 0; i < w_out; ++i)
                                 std::memcpy(dst + i * channels, line + cols[static_cast<size_t>(i)] * channels,
                                             pixel_bytes);
                             }
                           });
    return Status::Ok();
  }

 private:
  ResizeAttributes attrs_;
};

}  // namespace

void RegisterResizeChannelsLastKernels(KernelRegistry& registry) {
  KernelDef def;
  def.op_type = kChannelsLastResize;
  def.domain = kTesseraDomain;
  def.since_opset = 1;
  def.dtypes = {DType::kFloat32};
  def.factory = [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    // The Resize's own opset decides how scales, sizes and coordinates read.
    Node resize = init.node;
    resize.opset = static_cast<int>(init.node.GetInt("onnx_opset", 0));
    if (resize.opset < 10)
      return InvalidArgument(std::string(kChannelsLastResize) + " needs attribute 'onnx_opset' >= 10, got " +
                             std::to_string(resize.opset));
    TS_ASSIGN_OR_RETURN(ResizeAttributes attrs, ParseResizeAttributes(resize, false));
    if (attrs.mode != ResizeAttributes::Mode::kNearest)
      return InvalidArgument(std::string(kChannelsLastResize) + " supports mode 'nearest' only");
    return std::unique_ptr<Kernel>(std::make_unique<ResizeChannelsLastKernel>(std::move(attrs)));
  };
  registry.Register(std::move(def));
}

}  // namespace tessera
