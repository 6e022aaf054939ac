// --mode static: QuantizeLinear/DequantizeLinear pairs around the inputs of Conv, MatMul and Gemm.
//
//   activation X (calibrated):  X_dq = DequantizeLinear(QuantizeLinear(X, s, zp), s, zp)
//                               uint8 asymmetric, or int8 with zp 0 under --symmetric; one pair per X
//   constant weight W:          W_dq = DequantizeLinear(W_q, w_scale, w_zp[, axis])
//                               int8 symmetric (w_zp 0, as ONNX Runtime's quantizer writes them: oneDNN's
//                               int8 convolution, which the runtime fuses QDQ into, takes no weight zero
//                               point), per tensor or (--per-channel, opset >= 13) per output channel:
//                               Conv axis 0, MatMul axis 1, Gemm axis 0 with transB else 1
// The node itself is kept, reading X_dq and W_dq; biases (Conv B, Gemm C) stay float. This is the QDQ
// form ONNX Runtime and Tessera both run as written; fusing Q/DQ into integer kernels is a runtime job.
#include <map>
#include <set>

#include "compress/linear_quantizer.h"
#include "compress/rewrite_common.h"

namespace tessera::compress {
namespace {

bool IsStaticCandidate(const onnx::NodeProto& node) {
  return node.domain().empty() && (node.op_type() == "Conv" || node.op_type() == "MatMul" || node.op_type() == "Gemm");
}

// Indices of the inputs to quantize: Conv X, W; MatMul A, B; Gemm A, B.
std::vector<int> QuantizedInputs(const onnx::NodeProto& node) {
  std::vector<int> idx;
  for (int i = 0; i < std::min(2, node.input_size()); ++i) {
    if (!node.input(i).empty()) idx.push_back(i);
  }
  return idx;
}

int64_t WeightAxis(const onnx::NodeProto& node, int rank) {
  if (node.op_type() == "Conv") return 0;
  if (rank != 2) return -1;  // a batched MatMul weight: per tensor
  if (node.op_type() == "Gemm") return IntAttribute(node, "transB", 0) != 0 ? 0 : 1;
  return 1;
}

struct Rewriter {
  ModelEdit& edit;
  const QuantizeOptions& o;
  const std::map<std::string, ValueRange>& ranges;
  std::map<std::string, std::string> dequantized;  // activation -> its DequantizeLinear output
  // (weight, axis) -> its DequantizeLinear output and report figures: a weight shared by several nodes
  // is stored once.
  std::map<std::pair<std::string, int64_t>, std::pair<std::string, LayerReport>> weights;
  std::vector<onnx::NodeProto> nodes;

  StatusOr<std::string> Activation(const std::string& x) {
    auto it = dequantized.find(x);
    if (it != dequantized.end()) return it->second;
    auto r = ranges.find(x);
    if (r == ranges.end()) return Internal("no calibrated range for '" + x + "'");
    const QuantParams p = ChooseQuantParams(r->second.min, r->second.max, o.symmetric, o.symmetric);
    const std::string s = edit.UniqueName(x + "_scale"), zp = edit.UniqueName(x + "_zero_point");
    const std::string q = edit.UniqueName(x + "_quantized"), dq = edit.UniqueName(x + "_dequantized");
    edit.AddFloatInitializer(s, {}, {p.scale});
    if (o.symmetric) {
      edit.AddInt8Initializer(zp, {}, {static_cast<int8_t>(p.zero_point)});
    } else {
      edit.AddUInt8Initializer(zp, {}, {static_cast<uint8_t>(p.zero_point)});
    }
    nodes.push_back(edit.MakeNode("QuantizeLinear", {x, s, zp}, {q}, x + "_QuantizeLinear"));
    nodes.push_back(edit.MakeNode("DequantizeLinear", {q, s, zp}, {dq}, x + "_DequantizeLinear"));
    dequantized[x] = dq;
    return dq;
  }

  StatusOr<std::string> Weight(const onnx::NodeProto& node, const onnx::TensorProto& w, LayerReport& layer) {
    const std::vector<int64_t> dims(w.dims().begin(), w.dims().end());
    const int64_t axis = o.per_channel ? WeightAxis(node, static_cast<int>(dims.size())) : -1;
    auto known = weights.find({w.name(), axis});
    if (known != weights.end()) {
      const LayerReport& first = known->second.second;
      layer.form = first.form;
      layer.scale_min = first.scale_min;
      layer.scale_max = first.scale_max;
      layer.weight = first.weight;
      return known->second.first;
    }
    TS_ASSIGN_OR_RETURN(std::vector<float> values, edit.ReadFloats(w));
    const Int8Weight q = QuantizeWeightInt8(values.data(), dims, axis, /*symmetric=*/true);
    const std::string label = NodeLabel(node);
    const std::string wq = edit.UniqueName(w.name() + "_quantized"), s = edit.UniqueName(w.name() + "_scale");
    const std::string zp = edit.UniqueName(w.name() + "_zero_point");
    const std::string dq = edit.UniqueName(w.name() + "_dequantized");
    const std::vector<int64_t> param_dims =
        axis >= 0 ? std::vector<int64_t>{dims[static_cast<size_t>(axis)]} : std::vector<int64_t>{};
    edit.AddInt8Initializer(wq, dims, q.values);
    edit.AddFloatInitializer(s, param_dims, q.scales);
    edit.AddInt8Initializer(zp, param_dims, q.zero_points);
    onnx::NodeProto d = edit.MakeNode("DequantizeLinear", {wq, s, zp}, {dq}, label + "_weight_DequantizeLinear");
    if (axis >= 0) SetIntAttribute(d, "axis", axis);
    nodes.push_back(std::move(d));
    layer.form = std::string("QDQ int8 weight ") + (axis >= 0 ? "per-channel" : "per-tensor");
    SetScaleRange(q.scales, layer);
    const std::vector<float> back = DequantizeWeightInt8(q, dims);
    layer.weight = CompareValues(back.data(), values.data(), static_cast<int64_t>(values.size()));
    weights[{w.name(), axis}] = {dq, layer};
    return dq;
  }
};

}  // namespace

std::vector<std::string> StaticActivations(const ModelEdit& edit, const QuantizeOptions& options) {
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const onnx::NodeProto& node : edit.model().graph().node()) {
    if (!IsStaticCandidate(node) || IsExcluded(node, options)) continue;
    for (int i : QuantizedInputs(node)) {
      const std::string& x = node.input(i);
      if (edit.ConstantInitializer(x) == nullptr && seen.insert(x).second) names.push_back(x);
    }
  }
  return names;
}

Status RewriteStatic(ModelEdit& edit, const QuantizeOptions& options, const std::map<std::string, ValueRange>& ranges,
                     QuantizeReport& report, ProgressBar* progress) {
  const int64_t opset = edit.DefaultOpset();
  if (opset < 10 || (options.per_channel && opset < 13)) {
    return InvalidArgument("model '" + edit.display_name() + "' imports opset " + std::to_string(opset) + "; " +
                           (opset < 10 ? "QuantizeLinear needs opset 10 or newer"
                                       : "per-channel DequantizeLinear (its axis) needs opset 13 or newer"));
  }
  Rewriter rw{edit, options, ranges, {}, {}};
  const auto original = edit.graph().node();  // a copy: the rewrite reads it while `nodes` grows
  size_t done = 0;
  for (const onnx::NodeProto& node : original) {
    if (progress) progress->Step("quantizing", ++done, static_cast<size_t>(original.size()));
    if (!IsStaticCandidate(node)) {
      rw.nodes.push_back(node);
      continue;
    }
    if (IsExcluded(node, options)) {
      report.skipped.push_back({NodeLabel(node), node.op_type(), "excluded"});
      rw.nodes.push_back(node);
      continue;
    }
    LayerReport layer = NewLayerReport(node);
    layer.form = "QDQ activations only";
    onnx::NodeProto rewritten = node;
    for (int i : QuantizedInputs(node)) {
      const onnx::TensorProto* w = edit.ConstantInitializer(node.input(i));
      std::string replacement;
      if (w != nullptr && w->data_type() == onnx::TensorProto::FLOAT) {
        TS_ASSIGN_OR_RETURN(replacement, rw.Weight(node, *w, layer));
      } else if (w == nullptr) {
        TS_ASSIGN_OR_RETURN(replacement, rw.Activation(node.input(i)));
      } else {
        continue;  // a constant of another type stays as it is
      }
      rewritten.set_input(i, replacement);
    }
    rw.nodes.push_back(std::move(rewritten));
    report.layers.push_back(std::move(layer));
  }
  edit.graph().clear_node();
  for (auto& n : rw.nodes) *edit.graph().add_node() = std::move(n);
  return Status::Ok();
}

}  // namespace tessera::compress
