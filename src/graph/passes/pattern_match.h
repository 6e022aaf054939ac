// Small questions the fusion passes ask while matching node patterns (transformer_fusion, attention_fusion).
#pragma once

#include <cstddef>
#include <vector>

#include "graph/graph.h"

namespace tessera {

// Whether `node` is the default-domain `op_type` with exactly `inputs` inputs, one output and no subgraph.
inline bool IsOnnxOp(const Node& node, const char* op_type, size_t inputs) {
  return (node.domain.empty() || node.domain == "ai.onnx") && node.op_type == op_type &&
         node.inputs.size() == inputs && node.explicit_input_count == inputs && node.outputs.size() == 1 &&
         !node.HasSubgraphs();
}

// The value of a one-element float32 constant: an initializer or the output of a Constant node.
// `producer` is the node index per value id (-1 for graph inputs and initializers).
inline bool ScalarConstant(const Graph& graph, const std::vector<int>& producer, int value, float* out) {
  if (value == kNoValue) return false;
  const Tensor* t = nullptr;
  if (auto it = graph.constants.find(value); it != graph.constants.end()) {
    t = &it->second;
  } else if (int p = producer[static_cast<size_t>(value)]; p >= 0) {
    const Node& node = graph.nodes[static_cast<size_t>(p)];
    if (!IsOnnxOp(node, "Constant", 0)) return false;
    if (const Attribute* f = node.FindAttribute("value_float"); f != nullptr && f->type == Attribute::Type::kFloat) {
      *out = f->f;
      return true;
    }
    const Attribute* a = node.FindAttribute("value");
    if (a == nullptr || a->type != Attribute::Type::kTensor) return false;
    t = &a->t;
  }
  if (t == nullptr || !t->defined() || t->dtype() != DType::kFloat32 || t->element_count() != 1) return false;
  *out = t->data<float>()[0];
  return true;
}

}  // namespace tessera
