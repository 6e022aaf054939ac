// FuseLayerNormQuantize: match a LayerNormalization and a QuantizeLinear reading it, then rewrite in place
// (see the header).
#include "graph/passes/qdq_layer_norm.h"

#include <vector>

#include "graph/layout.h"
#include "graph/passes/pattern_match.h"
#include "graph/passes/qdq_match.h"

namespace tessera {
namespace {

bool IsFloatVectorOf(const Tensor* t, int64_t n) {
  return t != nullptr && t->dtype() == DType::kFloat32 && t->rank() == 1 && t->dim(0) == n;
}

// The number of values LayerNormalization node `n` normalises per row, or -1 when it does not fit.
int64_t NormalizedRowLength(const Graph& graph, const Node& n) {
  if (!IsDefaultDomainOp(n, "LayerNormalization") || n.inputs.size() < 2 || n.inputs.size() > 3) return -1;
  const ValueInfo& x = graph.value(n.inputs[0]);
  if (x.dtype != DType::kFloat32) return -1;
  const int64_t axis = n.GetInt("axis", -1);
  if (axis != -1 && (!x.has_shape || axis != static_cast<int64_t>(x.dims.size()) - 1)) return -1;
  // The row length comes from Scale: X's last dim may still be unknown here, and the kernel checks it
  // against Scale when it runs (where LayerNormalization would fail on the same mismatch).
  const Tensor* scale = QdqConstantOf(graph, n.inputs[1]);
  if (scale == nullptr || scale->rank() != 1) return -1;
  const int64_t len = scale->dim(0);
  if (len <= 0 || (x.has_shape && !x.dims.empty() && x.dims.back().value > 0 && x.dims.back().value != len)) {
    return -1;
  }
  if (!IsFloatVectorOf(QdqConstantOf(graph, n.inputs[1]), len)) return -1;
  if (n.inputs.size() == 3 && n.inputs[2] != kNoValue && !IsFloatVectorOf(QdqConstantOf(graph, n.inputs[2]), len)) {
    return -1;
  }
  return len;
}

}  // namespace

int FuseLayerNormQuantize(Graph& graph) {
  const ValueUses uses(graph);
  std::vector<bool> removed(graph.nodes.size(), false);
  int fused = 0;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    if (NormalizedRowLength(graph, graph.nodes[i]) < 0) continue;
    const int y = graph.nodes[i].outputs[0];
    int quantize = -1;
    for (int r : uses.readers[static_cast<size_t>(y)]) {
      const Node& q = graph.nodes[static_cast<size_t>(r)];
      if (!removed[static_cast<size_t>(r)] && IsPerTensorQdq(graph, q, "QuantizeLinear") && q.inputs[0] == y) {
        quantize = r;
        break;
      }
    }
    if (quantize < 0) continue;
    const Node& q = graph.nodes[static_cast<size_t>(quantize)];
    Node& node = graph.nodes[i];
    const int bias = node.inputs.size() == 3 ? node.inputs[2] : kNoValue;
    const float epsilon = node.GetFloat("epsilon", 1e-5f);
    node.inputs = {node.inputs[0], node.inputs[1], bias, q.inputs[1], q.inputs.size() > 2 ? q.inputs[2] : kNoValue};
    node.explicit_input_count = node.inputs.size();
    node.outputs = {y, q.outputs[0]};
    node.op_type = "LayerNormQuantize";
    node.domain = kTesseraDomain;
    node.opset = kTesseraOpset;
    node.attributes.clear();
    node.attributes["epsilon"].type = Attribute::Type::kFloat;
    node.attributes["epsilon"].f = epsilon;
    removed[static_cast<size_t>(quantize)] = true;
    ++fused;
  }
  if (fused > 0) EraseMarkedNodes(graph, removed);
  return fused;
}

}  // namespace tessera
