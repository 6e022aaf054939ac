// KeepQuantizedConvsChannelsLast: a fixpoint that drops candidate values until every constraint holds.
#include "graph/passes/qdq_channels_last.h"

#include <algorithm>
#include <vector>

#include "graph/layout.h"
#include "graph/passes/pattern_match.h"

namespace tessera {
namespace {

bool IsQuantizedConv2d(const Graph& graph, const Node& n) {
  if (n.domain != kTesseraDomain || n.op_type != "QuantizedConv" || n.inputs.size() < 4) return false;
  auto it = graph.constants.find(n.inputs[3]);
  return it != graph.constants.end() && it->second.defined() && it->second.rank() == 4;
}

bool IsScalarConstant(const Graph& graph, int value) {
  if (value == kNoValue) return true;  // an omitted zero point
  auto it = graph.constants.find(value);
  return it != graph.constants.end() && it->second.defined() && it->second.element_count() == 1;
}

// The data inputs of a layout-blind node (see the header), or an empty list when it is not one.
std::vector<int> LayoutBlindInputs(const Graph& graph, const Node& n) {
  const bool onnx = n.domain.empty() || n.domain == "ai.onnx";
  if (!onnx || n.outputs.size() != 1 || n.HasSubgraphs() || n.explicit_input_count != n.inputs.size()) return {};
  if (n.op_type == "Relu" && n.inputs.size() == 1) return {n.inputs[0]};
  if ((n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear") && n.inputs.size() >= 2 &&
      n.GetInt("block_size", 0) == 0 && IsScalarConstant(graph, n.inputs[1]) &&
      IsScalarConstant(graph, n.inputs.size() > 2 ? n.inputs[2] : kNoValue)) {
    return {n.inputs[0]};
  }
  if (n.op_type == "Add" && n.inputs.size() == 2 && n.inputs[0] != kNoValue && n.inputs[1] != kNoValue &&
      SameDeclaredShape(graph, n.inputs[0], n.inputs[1]) && SameDeclaredShape(graph, n.inputs[0], n.outputs[0])) {
    return {n.inputs[0], n.inputs[1]};
  }
  return {};
}

}  // namespace

void KeepQuantizedConvsChannelsLast(Graph& graph) {
  std::vector<bool> nhwc(graph.values.size(), false);
  std::vector<std::vector<int>> blind(graph.nodes.size());
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& n = graph.nodes[i];
    blind[i] = LayoutBlindInputs(graph, n);
    if (n.outputs.size() == 1 && n.outputs[0] != kNoValue && (IsQuantizedConv2d(graph, n) || !blind[i].empty())) {
      nhwc[static_cast<size_t>(n.outputs[0])] = true;
    }
  }
  for (int v : graph.outputs) nhwc[static_cast<size_t>(v)] = false;
  bool changed = true;
  while (changed) {
    changed = false;
    auto drop = [&](int v) {
      if (v != kNoValue && nhwc[static_cast<size_t>(v)]) {
        nhwc[static_cast<size_t>(v)] = false;
        changed = true;
      }
    };
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      const Node& n = graph.nodes[i];
      if (IsQuantizedConv2d(graph, n)) {
        for (size_t k = 1; k < std::min<size_t>(n.inputs.size(), 8); ++k) drop(n.inputs[k]);  // parameters
        // The addend Z is read in y's layout.
        if (n.inputs.size() > 8 && n.inputs[8] != kNoValue &&
            nhwc[static_cast<size_t>(n.inputs[8])] != nhwc[static_cast<size_t>(n.outputs[0])]) {
          drop(n.inputs[8]);
          drop(n.outputs[0]);
        }
        continue;
      }
      if (!blind[i].empty()) {
        bool all = nhwc[static_cast<size_t>(n.outputs[0])];
        for (int v : blind[i]) all = all && nhwc[static_cast<size_t>(v)];
        if (all) continue;
        drop(n.outputs[0]);
        for (int v : blind[i]) drop(v);
        continue;
      }
      for (int v : n.inputs) drop(v);
      for (int v : n.outputs) drop(v);
    }
  }
  for (Node& n : graph.nodes) {
    if (!IsQuantizedConv2d(graph, n)) continue;
    if (n.inputs[0] != kNoValue && nhwc[static_cast<size_t>(n.inputs[0])]) {
      n.attributes["channels_last_input"].type = Attribute::Type::kInt;
      n.attributes["channels_last_input"].i = 1;
    }
    if (nhwc[static_cast<size_t>(n.outputs[0])]) {
      n.attributes["channels_last_output"].type = Attribute::Type::kInt;
      n.attributes["channels_last_output"].i = 1;
    }
  }
}

}  // namespace tessera
