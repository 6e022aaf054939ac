// --mode dynamic: MatMul / Gemm with a constant weight -> the form ONNX Runtime's dynamic quantizer writes:
//
//   A_q, A_scale, A_zp = DynamicQuantizeLinear(A)         uint8, once per activation however many use it
//   acc   = MatMulInteger(A_q, B_q, A_zp, B_zp)           B_q int8 [K, N]; B_zp scalar or [N] (--per-channel)
//   scale = Mul(A_scale, B_scale)                         B_scale scalar or [N]
//   Y     = Mul(Cast(acc, float), scale)   [+ beta * C for Gemm]
#include <map>

#include "compress/linear_quantizer.h"
#include "compress/rewrite_common.h"

namespace tessera::compress {
namespace {

struct QuantizedActivation {
  std::string q, scale, zero_point;
};

Status RewriteNode(ModelEdit& edit, const onnx::NodeProto& node, const MatMulWeight& m, const QuantizeOptions& o,
                   std::map<std::string, QuantizedActivation>& activations, std::vector<onnx::NodeProto>& out,
                   LayerReport& layer) {
  TS_ASSIGN_OR_RETURN(std::vector<float> raw, edit.ReadFloats(*m.tensor));
  const std::vector<float> w = WeightAsKN(raw, m);
  const std::vector<int64_t> dims = {m.K, m.N};
  const Int8Weight q = QuantizeWeightInt8(w.data(), dims, o.per_channel ? 1 : -1, o.symmetric);
  const std::string label = NodeLabel(node);

  auto [it, fresh] = activations.try_emplace(node.input(0));
  QuantizedActivation& a = it->second;
  if (fresh) {
    a.q = edit.UniqueName(node.input(0) + "_quantized");
    a.scale = edit.UniqueName(node.input(0) + "_scale");
    a.zero_point = edit.UniqueName(node.input(0) + "_zero_point");
    out.push_back(edit.MakeNode("DynamicQuantizeLinear", {node.input(0)}, {a.q, a.scale, a.zero_point},
                                node.input(0) + "_DynamicQuantizeLinear"));
  }
  const std::vector<int64_t> param_dims = o.per_channel ? std::vector<int64_t>{m.N} : std::vector<int64_t>{};
  const std::string b_q = edit.UniqueName(label + "_B_quantized"), b_zp = edit.UniqueName(label + "_B_zero_point");
  const std::string b_scale = edit.UniqueName(label + "_B_scale");
  edit.AddInt8Initializer(b_q, dims, q.values);
  edit.AddInt8Initializer(b_zp, param_dims, q.zero_points);
  edit.AddFloatInitializer(b_scale, param_dims, q.scales);

  const std::string acc = edit.UniqueName(label + "_MatMulInteger_out");
  const std::string acc_f = edit.UniqueName(label + "_MatMulInteger_float");
  const std::string scale = edit.UniqueName(label + "_output_scale");
  out.push_back(edit.MakeNode("MatMulInteger", {a.q, b_q, a.zero_point, b_zp}, {acc}, label + "_MatMulInteger"));
  onnx::NodeProto cast = edit.MakeNode("Cast", {acc}, {acc_f}, label + "_Cast");
  SetIntAttribute(cast, "to", onnx::TensorProto::FLOAT);
  out.push_back(std::move(cast));
  out.push_back(edit.MakeNode("Mul", {a.scale, b_scale}, {scale}, label + "_scale_Mul"));
  TS_ASSIGN_OR_RETURN(std::string bias, ScaledBias(edit, m, label));
  const std::string y = bias.empty() ? node.output(0) : edit.UniqueName(label + "_scaled_out");
  out.push_back(edit.MakeNode("Mul", {acc_f, scale}, {y}, label + "_output_Mul"));
  if (!bias.empty()) out.push_back(edit.MakeNode("Add", {y, bias}, {node.output(0)}, label + "_bias"));

  layer.form = std::string("MatMulInteger int8 ") + (o.per_channel ? "per-channel" : "per-tensor");
  SetScaleRange(q.scales, layer);
  const std::vector<float> back = DequantizeWeightInt8(q, dims);
  layer.weight = CompareValues(back.data(), w.data(), static_cast<int64_t>(w.size()));
  return Status::Ok();
}

}  // namespace

Status RewriteDynamic(ModelEdit& edit, const QuantizeOptions& options, QuantizeReport& report, ProgressBar* progress) {
  if (edit.DefaultOpset() < 11) {
    return InvalidArgument("model '" + edit.display_name() + "' imports opset " + std::to_string(edit.DefaultOpset()) +
                           "; --mode dynamic writes DynamicQuantizeLinear, which needs opset 11 or newer");
  }
  std::map<std::string, QuantizedActivation> activations;
  return RewriteMatMulWeights(edit, options, report, progress,
                              [&](const onnx::NodeProto& node, const MatMulWeight& m,
                                  std::vector<onnx::NodeProto>& nodes, LayerReport& layer) {
                                return RewriteNode(edit, node, m, options, activations, nodes, layer);
                              });
}

}  // namespace tessera::compress
