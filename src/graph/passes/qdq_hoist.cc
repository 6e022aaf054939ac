// HoistQuantizeAboveDataMovement (see the header).
#include "graph/passes/qdq_hoist.h"

#include <string>
#include <vector>

#include "graph/passes/pattern_match.h"
#include "graph/passes/qdq_match.h"

namespace tessera {
namespace {

bool IsDataMovement(const Node& node) {
  for (const char* op : {"Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze"}) {
    if (IsDefaultDomainOp(node, op)) return true;
  }
  return false;
}

bool IsShapeNode(const Graph& graph, int index) {
  return IsDefaultDomainOp(graph.nodes[static_cast<size_t>(index)], "Shape");
}

// Whether `value` is read by `next` (once) and otherwise only by Shape nodes, and is not a graph output.
bool ReadOnlyBy(const Graph& graph, const ValueUses& uses, int value, int next) {
  if (uses.is_graph_output[static_cast<size_t>(value)]) return false;
  int seen = 0;
  for (int r : uses.readers[static_cast<size_t>(value)]) {
    if (r == next) {
      ++seen;
    } else if (!IsShapeNode(graph, r)) {
      return false;
    }
  }
  return seen == 1;
}

void Replace(std::vector<int>& inputs, int from, int to) {
  for (int& v : inputs) {
    if (v == from) v = to;
  }
}

// Moves the QuantizeLinear at `q` when the header's conditions hold.
bool HoistOne(Graph& graph, int q) {
  const ValueUses uses(graph);
  Node& quantize = graph.nodes[static_cast<size_t>(q)];
  if (!IsPerTensorQdq(graph, quantize, "QuantizeLinear")) return false;
  const int y = quantize.outputs[0];
  if (uses.is_graph_output[static_cast<size_t>(y)]) return false;
  for (int r : uses.readers[static_cast<size_t>(y)]) {
    const Node& reader = graph.nodes[static_cast<size_t>(r)];
    if (reader.HasSubgraphs() || reader.explicit_input_count != reader.inputs.size()) return false;
  }
  std::vector<int> chain;  // data movement nodes, last first
  int value = quantize.inputs[0], next = q;
  while (value != kNoValue && ReadOnlyBy(graph, uses, value, next)) {
    const int p = uses.producer[static_cast<size_t>(value)];
    if (p < 0 || !IsDataMovement(graph.nodes[static_cast<size_t>(p)])) break;
    const Node& move = graph.nodes[static_cast<size_t>(p)];
    if (move.inputs.empty() || move.inputs[0] == kNoValue) break;
    chain.push_back(p);
    next = p;
    value = move.inputs[0];
  }
  if (chain.empty()) return false;
  const int v = value;  // the first move's data input; other readers of v keep reading the float value
  const int last = graph.nodes[static_cast<size_t>(chain.front())].outputs[0];
  const DType type = QuantizedTypeOf(graph, quantize);
  for (int r : uses.readers[static_cast<size_t>(y)]) Replace(graph.nodes[static_cast<size_t>(r)].inputs, y, last);
  for (int r : uses.readers[static_cast<size_t>(v)]) {
    if (IsShapeNode(graph, r)) Replace(graph.nodes[static_cast<size_t>(r)].inputs, v, y);
  }
  quantize.inputs[0] = v;
  graph.nodes[static_cast<size_t>(chain.back())].inputs[0] = y;
  ValueInfo& y_info = graph.values[static_cast<size_t>(y)];
  const std::string name = y_info.name;
  y_info = graph.value(v);
  y_info.name = name;
  y_info.dtype = type;
  for (int n : chain) graph.values[static_cast<size_t>(graph.nodes[static_cast<size_t>(n)].outputs[0])].dtype = type;
  return true;
}

}  // namespace

int HoistQuantizeAboveDataMovement(Graph& graph) {
  int moved = 0;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    if (IsDefaultDomainOp(graph.nodes[i], "QuantizeLinear") && HoistOne(graph, static_cast<int>(i))) ++moved;
  }
  return moved;
}

}  // namespace tessera
