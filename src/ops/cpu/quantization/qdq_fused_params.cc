// Reading a fused QDQ node's constants and turning them into oneDNN attributes (see qdq_fused_params.h).
#include "ops/cpu/quantization/qdq_fused_params.h"

#include <cmath>
#include <string>

#include "ops/cpu/common/dnnl_context.h"
#include "ops/cpu/quantization/quant_common.h"

namespace tessera {
namespace {

enum Input { kX, kXScale, kXZeroPoint, kW, kWScale, kBias, kYScale, kYZeroPoint };

StatusOr<const Tensor*> RequireConstant(const KernelInit& init, size_t i, const char* what) {
  const Tensor* t = i < init.node.inputs.size() && init.node.inputs[i] != kNoValue ? init.constant_input(i) : nullptr;
  if (t == nullptr || !t->defined()) {
    return InvalidArgument(init.node.Describe() + ": " + what + " must be a constant");
  }
  return t;
}

bool Given(const KernelInit& init, size_t i) {
  return i < init.node.explicit_input_count && init.node.inputs[i] != kNoValue;
}

StatusOr<float> PositiveScalar(const Tensor& t, const std::string& what) {
  if (t.dtype() != DType::kFloat32 || t.element_count() != 1) {
    return InvalidArgument(what + " must be a float32 scalar, got " + DTypeName(t.dtype()) + " " +
                           ShapeToString(t.shape()));
  }
  const float v = t.data<float>()[0];
  if (!(v > 0) || !std::isfinite(v)) return InvalidArgument(what + " must be positive and finite");
  return v;
}

// A scalar uint8/int8 zero point: its type and value.
Status ReadZeroPoint(const Tensor& t, const std::string& what, DType* type, int32_t* value) {
  if ((t.dtype() != DType::kUInt8 && t.dtype() != DType::kInt8) || t.element_count() != 1) {
    return InvalidArgument(what + " must be a uint8 or int8 scalar, got " + DTypeName(t.dtype()) + " " +
                           ShapeToString(t.shape()));
  }
  *type = t.dtype();
  *value = ZeroPointAt(t, 0);
  return Status::Ok();
}

}  // namespace

StatusOr<QdqFusedParams> ReadQdqFusedParams(const KernelInit& init, int64_t channel_axis) {
  const std::string node = init.node.Describe();
  QdqFusedParams p;
  TS_ASSIGN_OR_RETURN(const Tensor* x_scale, RequireConstant(init, kXScale, "x_scale"));
  TS_ASSIGN_OR_RETURN(p.x_scale, PositiveScalar(*x_scale, node + " x_scale"));
  if (Given(init, kXZeroPoint)) {
    TS_ASSIGN_OR_RETURN(const Tensor* zp, RequireConstant(init, kXZeroPoint, "x_zero_point"));
    TS_RETURN_IF_ERROR(ReadZeroPoint(*zp, node + " x_zero_point", &p.x_type, &p.x_zero_point));
  }
  TS_ASSIGN_OR_RETURN(const Tensor* w, RequireConstant(init, kW, "w"));
  if (w->dtype() != DType::kInt8 || channel_axis >= w->rank()) {
    return InvalidArgument(node + " weights w must be int8 with an axis " + std::to_string(channel_axis) + ", got " +
                           DTypeName(w->dtype()) + " " + ShapeToString(w->shape()));
  }
  p.weights = *w;
  p.channels = w->dim(static_cast<size_t>(channel_axis));
  TS_ASSIGN_OR_RETURN(const Tensor* w_scale, RequireConstant(init, kWScale, "w_scale"));
  if (w_scale->dtype() != DType::kFloat32 ||
      (w_scale->element_count() != 1 && w_scale->element_count() != p.channels)) {
    return InvalidArgument(node + " w_scale must be float32 with 1 or " + std::to_string(p.channels) + " values, got " +
                           DTypeName(w_scale->dtype()) + " " + ShapeToString(w_scale->shape()));
  }
  p.w_scales.assign(w_scale->data<float>(), w_scale->data<float>() + w_scale->element_count());
  for (float s : p.w_scales) {
    if (!(s > 0) || !std::isfinite(s)) return InvalidArgument(node + " w_scale values must be positive and finite");
  }
  if (Given(init, kBias)) {
    TS_ASSIGN_OR_RETURN(const Tensor* b, RequireConstant(init, kBias, "B"));
    if (b->dtype() != DType::kFloat32 || b->element_count() != p.channels) {
      return InvalidArgument(node + " bias B must be float32 with " + std::to_string(p.channels) + " values, got " +
                             DTypeName(b->dtype()) + " " + ShapeToString(b->shape()));
    }
    p.bias.assign(b->data<float>(), b->data<float>() + b->element_count());
  }
  if (Given(init, kYScale)) {
    p.quantized_output = true;
    p.y_type = DType::kUInt8;
    TS_ASSIGN_OR_RETURN(const Tensor* y_scale, RequireConstant(init, kYScale, "y_scale"));
    TS_ASSIGN_OR_RETURN(p.y_scale, PositiveScalar(*y_scale, node + " y_scale"));
    if (Given(init, kYZeroPoint)) {
      TS_ASSIGN_OR_RETURN(const Tensor* zp, RequireConstant(init, kYZeroPoint, "y_zero_point"));
      TS_RETURN_IF_ERROR(ReadZeroPoint(*zp, node + " y_zero_point", &p.y_type, &p.y_zero_point));
    }
  }
  p.has_addend = Given(init, 8);
  if (p.has_addend && p.quantized_output) {
    return InvalidArgument(node + " takes an addend Z only with a float32 output (no y_scale)");
  }
  const std::string act = init.node.GetString("activation", "");
  if (act == "Relu") {
    p.activation = QdqFusedParams::Activation::kRelu;
  } else if (act == "Clip") {
    p.activation = QdqFusedParams::Activation::kClip;
    p.clip_min = init.node.GetFloat("activation_min", 0);
    p.clip_max = init.node.GetFloat("activation_max", 0);
    if (!(p.clip_min <= p.clip_max)) return InvalidArgument(node + " activation_min exceeds activation_max");
  } else if (act == "GeluErf") {
    p.activation = QdqFusedParams::Activation::kGeluErf;
  } else if (!act.empty()) {
    return InvalidArgument(node + " has an unknown activation '" + act + "' (Relu, Clip or GeluErf)");
  }
  return p;
}

std::vector<float> QdqFusedParams::OutputScales() const {
  const float out = quantized_output && !ScalesInFloatUnits() ? y_scale : 1.0f;
  std::vector<float> s(w_scales.size());
  for (size_t m = 0; m < s.size(); ++m) s[m] = x_scale * w_scales[m] / out;
  return s;
}

std::vector<float> QdqFusedParams::AccumulatorBias() const {
  std::vector<float> b(bias.size());
  for (size_t m = 0; m < b.size(); ++m) b[m] = bias[m] / (x_scale * w_scales[w_scales.size() == 1 ? 0 : m]);
  return b;
}

dnnl::primitive_attr QdqFusedParams::MakeAttr(int channel_mask) const {
  dnnl::primitive_attr attr;
  attr.set_output_scales(w_scales.size() == 1 ? 0 : channel_mask, OutputScales());
  if (x_zero_point != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
  if (quantized_output && y_zero_point != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {DNNL_RUNTIME_S32_VAL});
  dnnl::post_ops ops;
  if (has_addend) ops.append_sum(1.0f);
  const float out = quantized_output && !ScalesInFloatUnits() ? y_scale : 1.0f;
  if (activation == Activation::kRelu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  if (activation == Activation::kClip) {
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, clip_min / out, clip_max / out);
  }
  if (activation == Activation::kGeluErf) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
  if (ScalesInFloatUnits()) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, 1.0f / y_scale, 0.0f);
  if (ops.len() > 0) attr.set_post_ops(ops);
  return attr;
}

void AddZeroPointArgs(const QdqFusedParams& p, std::unordered_map<int, dnnl::memory>& args) {
  const dnnl::memory::desc one({1}, dnnl::memory::data_type::s32, dnnl::memory::format_tag::a);
  if (p.x_zero_point != 0) {
    args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC,
                 dnnl::memory(one, DnnlEngine(), const_cast<int32_t*>(&p.x_zero_point)));
  }
  if (p.quantized_output && p.y_zero_point != 0) {
    args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST,
                 dnnl::memory(one, DnnlEngine(), const_cast<int32_t*>(&p.y_zero_point)));
  }
}

}  // namespace tessera
