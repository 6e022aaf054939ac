// com.tessera ConcatChannelsLast (graph/layout.h): Concat along the channels of float32 images whose bytes
// are NHWC under their [N, C_i, H, W] shapes; Y [N, sum C_i, H, W] is NHWC too. In that order each output
// pixel is the inputs' pixels one after another, so the concat is one short copy per input and pixel. A
// feature pyramid's Concat between channels-last convolutions (DBNet's head) would otherwise need every
// input reordered to NCHW and the 96-channel result reordered back.
#include <algorithm>
#include <string>
#include <vector>

#include "graph/layout.h"
#include "ops/cpu/shape/shape_kernels.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

Status RunConcatChannelsLast(KernelContext& ctx) {
  const std::string op = kChannelsLastConcat;
  if (ctx.input_count() == 0 || !ctx.has_input(0)) return KernelContext::Error(op + " needs at least one input");
  const Tensor& first = ctx.input(0);
  if (first.dtype() != DType::kFloat32 || first.rank() != 4)
    return KernelContext::Error(op + " needs float32 [N, C, H, W] images, got input 0 " + ShapeToString(first.shape()) +
                                " (" + DTypeName(first.dtype()) + ")");
  std::vector<const float*> sources;
  std::vector<int64_t> channels;
  Shape out_shape = first.shape();
  out_shape[1] = 0;
  for (size_t i = 0; i < ctx.input_count(); ++i) {
    if (!ctx.has_input(i)) return KernelContext::Error(op + " input " + std::to_string(i) + " is missing");
    const Tensor& t = ctx.input(i);
    if (t.dtype() != DType::kFloat32 || t.rank() != 4 || t.dim(0) != first.dim(0) || t.dim(2) != first.dim(2) ||
        t.dim(3) != first.dim(3))
      return KernelContext::Error(op + " input " + std::to_string(i) + " (" + DTypeName(t.dtype()) + " " +
                                  ShapeToString(t.shape()) + ") does not match input 0 (" +
                                  ShapeToString(first.shape()) + ") outside the channels");
    sources.push_back(t.data<float>());
    channels.push_back(t.dim(1));
    out_shape[1] += t.dim(1);
  }
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, DType::kFloat32, out_shape));
  if (y->element_count() == 0) return Status::Ok();
  float* out = y->data<float>();
  const int64_t pixels = first.dim(0) * first.dim(2) * first.dim(3), total = out_shape[1];
  // Pixel by pixel, every input's channels in turn, so that the output is written in order.
  ctx.pool().ParallelFor(pixels, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, total)),
                         [&](int64_t begin, int64_t end) {
                           float* dst = out + begin * total;
                           for (int64_t p = begin; p < end; ++p) {
                             for (size_t i = 0; i < sources.size(); ++i) {
                               const int64_t c = channels[i];
                               const float* src = sources[i] + p * c;
                               for (int64_t k = 0; k < c; ++k) dst[k] = src[k];
                               dst += c;
                             }
                           }
                         });
  return Status::Ok();
}

}  // namespace

void RegisterConcatChannelsLastKernels(KernelRegistry& registry) {
  KernelDef def;
  def.op_type = kChannelsLastConcat;
  def.domain = kTesseraDomain;
  def.since_opset = 1;
  def.dtypes = {DType::kFloat32};
  def.factory = MakeFunctionKernel(RunConcatChannelsLast);
  registry.Register(std::move(def));
}

}  // namespace tessera
