// FLOP estimates for the ops that dominate inference time; other ops count one FLOP per output element.
#include "graph/cost_model.h"

namespace tessera {

namespace {

// Element count of a value when its shape is fully known, else 0.
double KnownElements(const Graph& graph, int id) {
  if (id == kNoValue) return 0;
  const ValueInfo& v = graph.value(id);
  if (!v.IsStatic()) return 0;
  double n = 1;
  for (const Dim& d : v.dims) n *= static_cast<double>(d.value);
  return n;
}

Shape KnownShape(const Graph& graph, int id) {
  if (id == kNoValue) return {};
  const ValueInfo& v = graph.value(id);
  return v.IsStatic() ? v.StaticDims() : Shape{};
}

}  // namespace

NodeCost EstimateNodeCost(const Graph& graph, const Node& node) {
  NodeCost cost;
  double out = node.outputs.empty() ? 0 : KnownElements(graph, node.outputs[0]);
  const ValueInfo* out_info = node.outputs.empty() || node.outputs[0] == kNoValue ? nullptr : &graph.value(node.outputs[0]);
  cost.output_bytes = out * (out_info ? static_cast<double>(DTypeSize(out_info->dtype)) : 4.0);
  const std::string& op = node.op_type;
  if ((op == "Conv" || op == "ConvTranspose") && node.inputs.size() >= 2) {
    Shape w = KnownShape(graph, node.inputs[1]);
    if (w.size() >= 3) {
      double per_output = static_cast<double>(w[1]);  // input channels per group
      for (size_t i = 2; i < w.size(); ++i) per_output *= static_cast<double>(w[i]);
      if (op == "ConvTranspose") {
        double in = KnownElements(graph, node.inputs[0]);
        cost.flops = 2.0 * in * per_output;  // each input element scatters into w[1]*k outputs
      } else {
        cost.flops = 2.0 * out * per_output;
      }
    }
  } else if ((op == "MatMul" || op == "Gemm") && node.inputs.size() >= 2) {
    Shape a = KnownShape(graph, node.inputs[0]);
    if (!a.empty()) {
      int64_t k = a.back();
      if (op == "Gemm" && node.GetInt("transA", 0) != 0 && a.size() == 2) k = a[0];
      cost.flops = 2.0 * out * static_cast<double>(k);
    }
  } else {
    cost.flops = out;
  }
  return cost;
}

double EstimateGraphFlops(const Graph& graph) {
  double total = 0;
  for (const Node& n : graph.nodes) total += EstimateNodeCost(graph, n).flops;
  return total;
}

}  // namespace tessera
