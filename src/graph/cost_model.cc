// FLOP estimates for the ops that dominate inference time; other ops count one FLOP per output element.
#include "graph/cost_model.h"

namespace tessera {

namespace {

// Element count of a value: its known dims times `unknown_dim` for each one not known; 0 when its rank
// is unknown.
double KnownElements(const Graph& graph, int id, const CostOptions& options) {
  if (id == kNoValue) return 0;
  const ValueInfo& v = graph.value(id);
  if (!v.has_shape) return 0;
  double n = 1;
  for (const Dim& d : v.dims) n *= d.value >= 0 ? static_cast<double>(d.value) : options.unknown_dim;
  return n;
}

// The value's dims with unknown ones replaced by `unknown_dim` (rounded, at least 1 when it is set);
// empty when the rank is unknown or a dim is unknown and no size is assumed.
Shape KnownShape(const Graph& graph, int id, const CostOptions& options) {
  if (id == kNoValue) return {};
  const ValueInfo& v = graph.value(id);
  if (!v.has_shape) return {};
  Shape s;
  for (const Dim& d : v.dims) {
    if (d.value >= 0) {
      s.push_back(d.value);
    } else if (options.unknown_dim > 0) {
      s.push_back(options.unknown_dim < 1 ? 1 : static_cast<int64_t>(options.unknown_dim));
    } else {
      return {};
    }
  }
  return s;
}

}  // namespace

double EstimateValueBytes(const Graph& graph, int id, const CostOptions& options) {
  if (id == kNoValue) return 0;
  const ValueInfo& v = graph.value(id);
  double size = v.dtype == DType::kString ? 8.0 : static_cast<double>(DTypeSize(v.dtype));
  return KnownElements(graph, id, options) * size;
}

NodeCost EstimateNodeCost(const Graph& graph, const Node& node, const CostOptions& options) {
  NodeCost cost;
  double out = node.outputs.empty() ? 0 : KnownElements(graph, node.outputs[0], options);
  for (int id : node.outputs) {
    const ValueInfo* info = id == kNoValue ? nullptr : &graph.value(id);
    // An output whose dtype shape inference did not find counts as 4 bytes per element.
    double size = info && info->dtype != DType::kUndefined ? static_cast<double>(DTypeSize(info->dtype)) : 4.0;
    cost.output_bytes += KnownElements(graph, id, options) * size;
  }
  const std::string& op = node.op_type;
  if ((op == "Conv" || op == "ConvTranspose") && node.inputs.size() >= 2) {
    Shape w = KnownShape(graph, node.inputs[1], options);
    if (w.size() >= 3) {
      double per_output = static_cast<double>(w[1]);  // input channels per group
      for (size_t i = 2; i < w.size(); ++i) per_output *= static_cast<double>(w[i]);
      if (op == "ConvTranspose") {
        double in = KnownElements(graph, node.inputs[0], options);
        cost.flops = 2.0 * in * per_output;  // each input element scatters into w[1]*k outputs
      } else {
        cost.flops = 2.0 * out * per_output;
      }
    }
  } else if ((op == "MatMul" || op == "Gemm") && node.inputs.size() >= 2) {
    Shape a = KnownShape(graph, node.inputs[0], options);
    if (!a.empty()) {
      int64_t k = a.back();
      if (op == "Gemm" && node.GetInt("transA", 0) != 0 && a.size() == 2) k = a[0];
      cost.flops = 2.0 * out * static_cast<double>(k);
    }
  } else if ((op == "LSTM" || op == "GRU" || op == "RNN") && node.inputs.size() >= 3) {
    // Per step and direction: the input and recurrent GEMMs, W [dirs, gates*hidden, in] and
    // R [dirs, gates*hidden, hidden], over seq * batch rows of X [seq, batch, in].
    Shape x = KnownShape(graph, node.inputs[0], options);
    Shape w = KnownShape(graph, node.inputs[1], options);
    Shape r = KnownShape(graph, node.inputs[2], options);
    if (x.size() == 3 && w.size() == 3 && r.size() == 3) {
      double rows = static_cast<double>(x[0]) * static_cast<double>(x[1]);
      cost.flops = 2.0 * rows * static_cast<double>(w[0]) * static_cast<double>(w[1]) *
                   static_cast<double>(w[2] + r[2]);
    }
  } else {
    cost.flops = out;
  }
  return cost;
}

double EstimateGraphFlops(const Graph& graph, const CostOptions& options) {
  double total = 0;
  for (const Node& n : graph.nodes) total += EstimateNodeCost(graph, n, options).flops;
  return total;
}

}  // namespace tessera
