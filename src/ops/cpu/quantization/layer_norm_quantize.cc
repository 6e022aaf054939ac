// com.tessera LayerNormQuantize: a float32 LayerNormalization over the last axis that also writes the
// QuantizeLinear'd copy of its output, row by row while the row is still in L1 (graph/passes/qdq_layer_norm.h
// writes it where a QDQ encoder's LayerNorm feeds both a residual Add and the next int8 matmul).
//
// Inputs: X (float32), Scale, B (optional; both float32 with one value per element of the last axis),
// y_scale (constant float32 scalar > 0), y_zero_point (optional constant uint8/int8 scalar; uint8 0 when
// absent). Attribute epsilon (default 1e-5). Outputs: Y (float32, LayerNormalization's), Y_quantized
// (QuantizeLinear(Y, y_scale, y_zero_point), typed as the zero point). The codes equal a separate
// QuantizeLinear's, since both quantize the same float32 values with QuantizeFloats.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "ops/cpu/normalization/layer_norm_rows.h"
#include "ops/cpu/quantization/quant_common.h"
#include "ops/cpu/quantization/quant_family.h"

namespace tessera {
namespace {

class LayerNormQuantizeKernel : public Kernel {
 public:
  LayerNormQuantizeKernel(float epsilon, float y_scale, int32_t y_zero_point, DType y_type)
      : epsilon_(epsilon), y_scale_(y_scale), y_zero_point_(y_zero_point), y_type_(y_type) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::kFloat32 || x.rank() == 0) {
      return KernelContext::Error("LayerNormQuantize X must be a float32 tensor of rank >= 1, got " +
                                  std::string(DTypeName(x.dtype())) + " " + ShapeToString(x.shape()));
    }
    const int64_t n = x.shape().back();
    const Tensor& scale = ctx.input(1);
    const bool has_bias = ctx.has_input(2);
    if (scale.dtype() != DType::kFloat32 || scale.element_count() != n ||
        (has_bias && (ctx.input(2).dtype() != DType::kFloat32 || ctx.input(2).element_count() != n))) {
      return KernelContext::Error("LayerNormQuantize Scale and B must be float32 with " + std::to_string(n) +
                                  " values (X's last axis)");
    }
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, DType::kFloat32, x.shape()));
    TS_ASSIGN_OR_RETURN(Tensor * yq, ctx.AllocateUninitializedOutput(1, y_type_, x.shape()));
    if (x.element_count() == 0) return Status::Ok();
    const int64_t rows = x.element_count() / n;
    const float* xd = x.data<float>();
    const float* gamma = scale.data<float>();
    const float* beta = has_bias ? ctx.input(2).data<float>() : nullptr;
    float* yd = y->data<float>();
    const int64_t min_chunk = std::max<int64_t>(1, 16384 / n);
    ctx.pool().ParallelFor(rows, min_chunk, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        LayerNormRowsF32(xd + r * n, yd + r * n, 1, n, gamma, beta, epsilon_, nullptr, nullptr);
        if (y_type_ == DType::kUInt8) {
          QuantizeFloats<uint8_t>(yd + r * n, n, y_scale_, y_zero_point_, yq->data<uint8_t>() + r * n);
        } else {
          QuantizeFloats<int8_t>(yd + r * n, n, y_scale_, y_zero_point_, yq->data<int8_t>() + r * n);
        }
      }
    });
    return Status::Ok();
  }

 private:
  float epsilon_, y_scale_;
  int32_t y_zero_point_;
  DType y_type_;
};

}  // namespace

StatusOr<std::unique_ptr<Kernel>> MakeLayerNormQuantizeKernel(const KernelInit& init) {
  const Node& node = init.node;
  if (node.inputs.size() < 4 || node.outputs.size() != 2) {
    return InvalidArgument(node.Describe() + " LayerNormQuantize needs X, Scale, B, y_scale[, y_zero_point] "
                                             "and two outputs");
  }
  const Tensor* scale = node.inputs[3] != kNoValue ? init.constant_input(3) : nullptr;
  if (scale == nullptr || !scale->defined() || scale->dtype() != DType::kFloat32 || scale->element_count() != 1 ||
      !(scale->data<float>()[0] > 0) || !std::isfinite(scale->data<float>()[0])) {
    return InvalidArgument(node.Describe() + " y_scale must be a constant positive finite float32 scalar");
  }
  int32_t zero_point = 0;
  DType type = DType::kUInt8;
  if (node.inputs.size() > 4 && node.inputs[4] != kNoValue) {
    const Tensor* zp = init.constant_input(4);
    if (zp == nullptr || !zp->defined() || (zp->dtype() != DType::kUInt8 && zp->dtype() != DType::kInt8) ||
        zp->element_count() != 1) {
      return InvalidArgument(node.Describe() + " y_zero_point must be a constant uint8 or int8 scalar");
    }
    type = zp->dtype();
    zero_point = ZeroPointAt(*zp, 0);
  }
  const float epsilon = node.GetFloat("epsilon", 1e-5f);
  return std::unique_ptr<Kernel>(
      std::make_unique<LayerNormQuantizeKernel>(epsilon, scale->data<float>()[0], zero_point, type));
}

}  // namespace tessera
