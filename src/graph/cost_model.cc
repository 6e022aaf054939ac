// FLOP estimates for the ops that dominate inference time; other ops count one FLOP per output element.
#include "graph/cost_model.h"

#include <algorithm>

namespace tessera {

namespace {

// Element count of a value: its known dims times `unknown_dim` for each one not known; 0 when its rank
// is unknown.
double KnownElements(const Graph& graph, int id, const CostOptions& options) {
  if (id == kNoValue) return 0;
  const ValueInfo& v = graph.value(id);
  if (!v.has_shape) {
    const std::vector<double>* guess = options.value_elements;
    return guess && static_cast<size_t>(id) < guess->size() ? (*guess)[static_cast<size_t>(id)] : 0;
  }
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
  // Strings count 8 bytes an element; a dtype shape inference did not find counts as float32.
  double size = v.dtype == DType::kString      ? 8.0
                : v.dtype == DType::kUndefined ? 4.0
                                               : static_cast<double>(DTypeSize(v.dtype));
  return KnownElements(graph, id, options) * size;
}

std::vector<double> EstimateValueElements(const Graph& graph, const CostOptions& options) {
  CostOptions known = options;
  known.value_elements = nullptr;
  std::vector<double> elements(graph.values.size(), 0.0);
  std::vector<bool> settled(graph.values.size(), false);
  for (size_t id = 0; id < graph.values.size(); ++id) {
    auto c = graph.constants.find(static_cast<int>(id));
    if (c != graph.constants.end()) {
      elements[id] = static_cast<double>(c->second.element_count());
      settled[id] = true;
    } else if (graph.values[id].has_shape) {
      elements[id] = KnownElements(graph, static_cast<int>(id), known);
      settled[id] = true;
    }
  }
  auto constant_shape = [&](int id) -> Shape {
    auto c = id == kNoValue ? graph.constants.end() : graph.constants.find(id);
    return c == graph.constants.end() ? Shape{} : c->second.shape();
  };
  for (const Node& node : graph.nodes) {
    double largest = 0;
    for (int in : node.inputs) {
      if (in != kNoValue && !graph.IsConstant(in)) largest = std::max(largest, elements[static_cast<size_t>(in)]);
    }
    double guess = largest;
    const std::string& op = node.op_type;
    if ((op == "MatMul" || op == "Gemm") && node.inputs.size() >= 2) {
      Shape w = constant_shape(node.inputs[1]);
      if (w.size() == 2 && w[0] > 0 && w[1] > 0) {
        bool transposed = op == "Gemm" && node.GetInt("transB", 0) != 0;
        double k = static_cast<double>(transposed ? w[1] : w[0]), n = static_cast<double>(transposed ? w[0] : w[1]);
        guess = elements[static_cast<size_t>(node.inputs[0])] / k * n;
      }
    } else if (op == "Gather" && node.inputs.size() >= 2 && node.GetInt("axis", 0) == 0) {
      Shape table = constant_shape(node.inputs[0]);
      if (!table.empty()) {
        double row = 1;
        for (size_t i = 1; i < table.size(); ++i) row *= static_cast<double>(table[i]);
        guess = std::max(1.0, elements[static_cast<size_t>(node.inputs[1])]) * row;
      }
    } else if (op == "Shape") {
      guess = 4;  // a rank
    }
    for (int out : node.outputs) {
      if (out != kNoValue && !settled[static_cast<size_t>(out)]) elements[static_cast<size_t>(out)] = guess;
    }
  }
  return elements;
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
    auto weight = graph.constants.find(node.inputs[1]);
    if (!a.empty()) {
      int64_t k = a.back();
      if (op == "Gemm" && node.GetInt("transA", 0) != 0 && a.size() == 2) k = a[0];
      cost.flops = 2.0 * out * static_cast<double>(k);
    } else if (weight != graph.constants.end() && weight->second.rank() == 2) {
      // Unknown input shape, constant weight: the reduction is the weight's K.
      bool transposed = op == "Gemm" && node.GetInt("transB", 0) != 0;
      cost.flops = 2.0 * out * static_cast<double>(weight->second.dim(transposed ? 1 : 0));
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
