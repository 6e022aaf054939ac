// Writing a plan as a Graphviz digraph.
#include "parallel/planner/plan_dot.h"

#include <sstream>

namespace tessera {

namespace {

// Light fills that stay readable with black text; stages beyond the list reuse it.
constexpr const char* kStageColours[] = {"#a6cee3", "#b2df8a", "#fdbf6f", "#cab2d6", "#fb9a99", "#ffff99", "#8dd3c7", "#d9d9d9"};

// A double-quoted Graphviz string.
std::string Quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string PlanToDot(const Graph& graph, const PlanEstimate& estimate) {
  const PlanSpec& spec = estimate.spec;
  std::ostringstream dot;
  dot << "digraph plan {\n  rankdir=TB;\n  node [shape=box, style=filled, fontsize=10];\n";
  dot << "  label=" << Quote("dp " + std::to_string(spec.dp) + " x pp " + std::to_string(spec.pp) + " x tp " + std::to_string(spec.tp)) << ";\n";
  for (size_t s = 0; s < estimate.stages.size(); ++s) {
    const char* colour = kStageColours[s % (sizeof kStageColours / sizeof kStageColours[0])];
    dot << "  subgraph cluster_stage" << s << " {\n    label=" << Quote("stage " + std::to_string(s)) << ";\n";
    for (size_t n = 0; n < graph.nodes.size(); ++n) {
      if (estimate.node_stage[n] != static_cast<int>(s)) continue;
      const Node& node = graph.nodes[n];
      std::string label = node.name + "\n" + node.op_type;
      std::string extra;
      if (estimate.node_sharded[n]) {
        label += "\nsplit over " + std::to_string(spec.tp);
        extra = ", peripheries=2, penwidth=2";
      }
      dot << "    n" << n << " [label=" << Quote(label) << ", fillcolor=" << Quote(colour) << extra << "];\n";
    }
    dot << "  }\n";
  }
  std::vector<int> producer(graph.values.size(), -1);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    for (int out : graph.nodes[n].outputs) {
      if (out != kNoValue) producer[static_cast<size_t>(out)] = static_cast<int>(n);
    }
  }
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    for (int in : graph.nodes[n].inputs) {
      if (in == kNoValue || graph.IsConstant(in) || producer[static_cast<size_t>(in)] < 0) continue;
      dot << "  n" << producer[static_cast<size_t>(in)] << " -> n" << n << ";\n";
    }
  }
  dot << "}\n";
  return dot.str();
}

}  // namespace tessera
