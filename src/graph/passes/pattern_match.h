// Small questions the fusion passes ask while matching node patterns (transformer_fusion, attention_fusion).
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "graph/graph.h"

namespace tessera {

// Who reads and who writes each value of one graph (subgraph readers appear as implicit inputs).
struct ValueUses {
  std::vector<std::vector<int>> readers;  // node indices per value id, once per input slot
  std::vector<int> producer;              // node index per value id, -1 for inputs and initializers
  std::vector<bool> is_graph_output;

  explicit ValueUses(const Graph& graph)
      : readers(graph.values.size()), producer(graph.values.size(), -1), is_graph_output(graph.values.size()) {
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      for (int v : graph.nodes[i].inputs) {
        if (v != kNoValue) readers[static_cast<size_t>(v)].push_back(static_cast<int>(i));
      }
      for (int v : graph.nodes[i].outputs) {
        if (v != kNoValue) producer[static_cast<size_t>(v)] = static_cast<int>(i);
      }
    }
    for (int v : graph.outputs) is_graph_output[static_cast<size_t>(v)] = true;
  }

  // The only node reading `value` (through one input slot), or -1 when it has other readers or is a
  // graph output.
  int SoleReader(int value) const {
    const auto& r = readers[static_cast<size_t>(value)];
    if (is_graph_output[static_cast<size_t>(value)] || r.size() != 1) return -1;
    return r[0];
  }
};

// Drops the nodes marked in `removed` (indexed like graph.nodes), keeping the others' order.
inline void EraseMarkedNodes(Graph& graph, const std::vector<bool>& removed) {
  std::vector<Node> kept;
  kept.reserve(graph.nodes.size());
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    if (!removed[i]) kept.push_back(std::move(graph.nodes[i]));
  }
  graph.nodes = std::move(kept);
}

// Whether `node` is the default-domain `op_type` with exactly `inputs` inputs, one output and no subgraph.
inline bool IsOnnxOp(const Node& node, const char* op_type, size_t inputs) {
  return (node.domain.empty() || node.domain == "ai.onnx") && node.op_type == op_type &&
         node.inputs.size() == inputs && node.explicit_input_count == inputs && node.outputs.size() == 1 &&
         !node.HasSubgraphs();
}

// The input of binary `node` that is not `value`, or kNoValue when both are `value`.
inline int OtherInput(const Node& node, int value) {
  if (node.inputs[0] == value && node.inputs[1] != value) return node.inputs[1];
  if (node.inputs[1] == value && node.inputs[0] != value) return node.inputs[0];
  return kNoValue;
}

// Whether values a and b are declared with the same shape: the same rank, and per dim the same size or
// the same symbol (ONNX gives a symbol one value across the graph).
inline bool SameDeclaredShape(const Graph& graph, int a, int b) {
  const ValueInfo& va = graph.value(a);
  const ValueInfo& vb = graph.value(b);
  if (!va.has_shape || !vb.has_shape || va.dims.size() != vb.dims.size()) return false;
  for (size_t i = 0; i < va.dims.size(); ++i) {
    const Dim& x = va.dims[i];
    const Dim& y = vb.dims[i];
    const bool same = x.value >= 0 ? x.value == y.value : (y.value < 0 && !x.symbol.empty() && x.symbol == y.symbol);
    if (!same) return false;
  }
  return true;
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
