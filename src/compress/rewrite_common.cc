// Node selection and weight lookup shared by the rewrites.
#include "compress/rewrite_common.h"

#include <algorithm>

namespace tessera::compress {

bool IsExcluded(const onnx::NodeProto& node, const QuantizeOptions& options) {
  for (const std::string& e : options.exclude) {
    if (e == node.op_type() || (!node.name().empty() && e == node.name())) return true;
  }
  return false;
}

std::string NodeLabel(const onnx::NodeProto& node) {
  if (!node.name().empty()) return node.name();
  return node.output_size() > 0 ? node.output(0) : node.op_type();
}

std::string FindMatMulWeight(const ModelEdit& edit, const onnx::NodeProto& node, MatMulWeight& out) {
  if (node.input_size() < 2) return "fewer than two inputs";
  const onnx::TensorProto* b = edit.ConstantInitializer(node.input(1));
  if (b == nullptr) return "B is not a constant initializer";
  if (b->data_type() != onnx::TensorProto::FLOAT) return "B is not float32";
  if (b->dims_size() != 2) return "B is not 2-D";
  out = MatMulWeight{};
  out.tensor = b;
  if (node.op_type() == "Gemm") {
    if (IntAttribute(node, "transA", 0) != 0) return "Gemm with transA=1";
    if (FloatAttribute(node, "alpha", 1.0f) != 1.0f) return "Gemm with alpha != 1";
    out.is_nk = IntAttribute(node, "transB", 0) != 0;
    if (node.input_size() > 2 && !node.input(2).empty()) {
      const onnx::TensorProto* c = edit.ConstantInitializer(node.input(2));
      if (c == nullptr || c->data_type() != onnx::TensorProto::FLOAT) return "Gemm C is not a float32 constant";
      out.bias = node.input(2);
      out.beta = FloatAttribute(node, "beta", 1.0f);
    }
  }
  out.K = out.is_nk ? b->dims(1) : b->dims(0);
  out.N = out.is_nk ? b->dims(0) : b->dims(1);
  if (out.K <= 0 || out.N <= 0) return "B is empty";
  return "";
}

std::vector<float> WeightAsKN(const std::vector<float>& w, const MatMulWeight& m) {
  if (!m.is_nk) return w;
  std::vector<float> kn(w.size());
  for (int64_t n = 0; n < m.N; ++n) {
    for (int64_t k = 0; k < m.K; ++k) kn[static_cast<size_t>(k * m.N + n)] = w[static_cast<size_t>(n * m.K + k)];
  }
  return kn;
}

StatusOr<std::string> ScaledBias(ModelEdit& edit, const MatMulWeight& m, const std::string& label) {
  if (m.bias.empty() || m.beta == 1.0f) return m.bias;
  const onnx::TensorProto* c = edit.ConstantInitializer(m.bias);
  TS_ASSIGN_OR_RETURN(std::vector<float> values, edit.ReadFloats(*c));
  for (float& v : values) v *= m.beta;
  const std::string name = edit.UniqueName(label + "_bias_scaled");
  edit.AddFloatInitializer(name, std::vector<int64_t>(c->dims().begin(), c->dims().end()), values);
  return name;
}

LayerReport NewLayerReport(const onnx::NodeProto& node) {
  LayerReport layer;
  layer.node = NodeLabel(node);
  layer.op = node.op_type();
  layer.output = node.output_size() > 0 ? node.output(0) : "";
  return layer;
}

Status RewriteMatMulWeights(ModelEdit& edit, const QuantizeOptions& options, QuantizeReport& report,
                            ProgressBar* progress, const MatMulRewrite& rewrite) {
  std::vector<onnx::NodeProto> nodes;
  const size_t total = static_cast<size_t>(edit.graph().node_size());
  size_t done = 0;
  for (const onnx::NodeProto& node : edit.graph().node()) {
    if (progress) progress->Step("quantizing", ++done, total);
    const bool candidate = (node.op_type() == "MatMul" || node.op_type() == "Gemm") && node.domain().empty();
    if (!candidate) {
      nodes.push_back(node);
      continue;
    }
    MatMulWeight m;
    std::string reason = IsExcluded(node, options) ? "excluded" : FindMatMulWeight(edit, node, m);
    if (!reason.empty()) {
      report.skipped.push_back({NodeLabel(node), node.op_type(), reason});
      nodes.push_back(node);
      continue;
    }
    LayerReport layer = NewLayerReport(node);
    TS_RETURN_IF_ERROR(rewrite(node, m, nodes, layer));
    report.layers.push_back(std::move(layer));
  }
  edit.graph().clear_node();
  for (auto& n : nodes) *edit.graph().add_node() = std::move(n);
  return Status::Ok();
}

void SetScaleRange(const std::vector<float>& scales, LayerReport& layer) {
  if (scales.empty()) return;
  layer.scale_min = *std::min_element(scales.begin(), scales.end());
  layer.scale_max = *std::max_element(scales.begin(), scales.end());
}

}  // namespace tessera::compress
