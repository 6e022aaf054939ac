// ShardGraphView and ReshapeTarget: what the shard rules read about the graph around a node.
#include "parallel/tensor/shard_rules.h"

#include <algorithm>
#include <set>
#include <string>

namespace tessera {

ShardGraphView::ShardGraphView(const Graph& g)
    : graph(g),
      readers(g.values.size()),
      producer(g.values.size(), -1),
      is_output(g.values.size(), false),
      sharded_io(g.values.size(), false) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& node = g.nodes[i];
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      if (node.inputs[k] != kNoValue) {
        readers[static_cast<size_t>(node.inputs[k])].push_back({static_cast<int>(i), static_cast<int>(k)});
      }
    }
    for (int v : node.outputs) {
      if (v != kNoValue) producer[static_cast<size_t>(v)] = static_cast<int>(i);
    }
  }
  for (int v : g.outputs) is_output[static_cast<size_t>(v)] = true;
  PropagateRanks();
}

// The rank a Reduce* node leaves of an input of rank `in`, or -1 when its axes are computed at run time.
int ShardGraphView::ReducedRank(const Node& node, int in) const {
  if (node.GetInt("keepdims", 1) != 0) return in;
  const Tensor* axes = node.inputs.size() > 1 ? Constant(node.inputs[1]) : nullptr;
  if (node.inputs.size() > 1 && node.inputs[1] != kNoValue && axes == nullptr) return -1;
  const int64_t reduced = axes != nullptr ? axes->element_count() : static_cast<int64_t>(node.GetInts("axes").size());
  if (reduced == 0) return node.GetInt("noop_with_empty_axes", 0) != 0 ? in : 0;  // no axes: all of them
  return in - static_cast<int>(reduced);
}

// Exporters often leave intermediate shapes unknown (ONNX inference stops at a Reshape whose shape is
// computed); the rules only need ranks, which the common ops determine from their inputs.
void ShardGraphView::PropagateRanks() {
  static const std::set<std::string> same_rank = {
      "Relu", "LeakyRelu", "Elu", "Selu", "Gelu", "Erf", "Tanh", "Sigmoid", "HardSigmoid", "HardSwish", "Softplus",
      "Exp", "Log", "Abs", "Neg", "Sqrt", "Reciprocal", "Cast", "Identity", "Dropout", "Clip", "Softmax",
      "LogSoftmax", "LayerNormalization", "BatchNormalization", "Transpose", "Slice", "Concat", "Conv",
      "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Not", "Floor", "Ceil", "Round", "Sign"};
  static const std::set<std::string> broadcast = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Where", "Equal",
                                                  "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or",
                                                  "Xor", "PRelu", "Sum", "Mean"};
  ranks.assign(graph.values.size(), -1);
  for (size_t v = 0; v < graph.values.size(); ++v) {
    if (const Tensor* t = graph.constants.count(static_cast<int>(v)) ? &graph.constants.at(static_cast<int>(v)) : nullptr) {
      ranks[v] = static_cast<int>(t->rank());
    } else if (graph.values[v].has_shape) {
      ranks[v] = static_cast<int>(graph.values[v].dims.size());
    }
  }
  // Ops of GenAI decoders (com.microsoft, and ONNX Runtime's layer norms in the default domain) whose first
  // output has their first input's rank.
  static const std::set<std::string> contrib_same_rank = {
      "SimplifiedLayerNormalization", "SkipSimplifiedLayerNormalization", "SkipLayerNormalization",
      "RotaryEmbedding", "MatMulNBits", "GroupQueryAttention"};
  auto rank = [&](int v) { return v == kNoValue ? -1 : ranks[static_cast<size_t>(v)]; };
  for (const Node& node : graph.nodes) {
    if (node.outputs.empty() || node.outputs[0] == kNoValue || rank(node.outputs[0]) >= 0) continue;
    if ((node.domain == "com.microsoft" || node.domain.empty()) && contrib_same_rank.count(node.op_type) &&
        !node.inputs.empty()) {
      ranks[static_cast<size_t>(node.outputs[0])] = rank(node.inputs[0]);
      continue;
    }
    if (!(node.domain.empty() || node.domain == "ai.onnx") || node.inputs.empty()) continue;
    const std::string& op = node.op_type;
    int r = -1;
    if (same_rank.count(op)) {
      r = rank(node.inputs[0]);
    } else if (broadcast.count(op) || op == "MatMul") {
      // One input of unknown rank leaves the output's unknown: a weight's rank 2 is not the product's.
      for (int v : node.inputs) {
        if (rank(v) < 0) {
          r = -1;
          break;
        }
        r = std::max(r, rank(v));
      }
    } else if (op.rfind("Reduce", 0) == 0 && rank(node.inputs[0]) >= 0) {
      r = ReducedRank(node, rank(node.inputs[0]));
    } else if (op == "Gemm") {
      r = 2;
    } else if (op == "Shape" || op == "Range") {
      r = 1;
    } else if (op == "Gather" && node.inputs.size() == 2 && rank(node.inputs[0]) >= 0 && rank(node.inputs[1]) >= 0) {
      r = rank(node.inputs[0]) + rank(node.inputs[1]) - 1;
    } else if (op == "Unsqueeze" && rank(node.inputs[0]) >= 0) {
      const Tensor* axes = node.inputs.size() > 1 ? Constant(node.inputs[1]) : nullptr;
      const int64_t added = axes != nullptr ? axes->element_count() : static_cast<int64_t>(node.GetInts("axes").size());
      if (added > 0) r = rank(node.inputs[0]) + static_cast<int>(added);
    } else if (op == "Reshape" && node.inputs.size() == 2) {
      if (auto target = ReshapeTarget(*this, node.inputs[1])) r = static_cast<int>(target->size());
    }
    if (r >= 0) ranks[static_cast<size_t>(node.outputs[0])] = r;
  }
}

const Tensor* ShardGraphView::Constant(int value) const {
  if (value == kNoValue) return nullptr;
  if (auto it = graph.constants.find(value); it != graph.constants.end()) return &it->second;
  const int p = producer[static_cast<size_t>(value)];
  if (p < 0) return nullptr;
  const Node& node = graph.nodes[static_cast<size_t>(p)];
  if (node.op_type != "Constant" || !(node.domain.empty() || node.domain == "ai.onnx")) return nullptr;
  const Attribute* a = node.FindAttribute("value");
  return a != nullptr && a->type == Attribute::Type::kTensor && a->t.defined() ? &a->t : nullptr;
}

int ShardGraphView::Rank(int value) const {
  if (value == kNoValue) return -1;
  if (const Tensor* t = Constant(value)) return static_cast<int>(t->rank());
  return ranks[static_cast<size_t>(value)];
}

int64_t ShardGraphView::Dim(int value, int i) const {
  if (value == kNoValue || i < 0) return -1;
  if (const Tensor* t = Constant(value)) return i < t->rank() ? t->dim(i) : -1;
  const ValueInfo& info = graph.value(value);
  if (!info.has_shape || i >= static_cast<int>(info.dims.size())) return -1;
  return info.dims[static_cast<size_t>(i)].value;
}

std::optional<std::vector<std::optional<int64_t>>> ReshapeTarget(const ShardGraphView& view, int shape_value) {
  using Elements = std::vector<std::optional<int64_t>>;
  auto from_tensor = [](const Tensor& t) -> std::optional<Elements> {
    if (t.dtype() != DType::kInt64 || t.rank() != 1) return std::nullopt;
    Elements e;
    for (int64_t i = 0; i < t.element_count(); ++i) e.push_back(t.data<int64_t>()[i]);
    return e;
  };
  if (const Tensor* t = view.Constant(shape_value)) return from_tensor(*t);
  const int p = view.producer[static_cast<size_t>(shape_value)];
  if (p < 0) return std::nullopt;
  const Node& concat = view.graph.nodes[static_cast<size_t>(p)];
  if (concat.op_type != "Concat" || !(concat.domain.empty() || concat.domain == "ai.onnx")) return std::nullopt;
  const int64_t axis = concat.GetInt("axis", 0);
  if (axis != 0 && axis != -1) return std::nullopt;
  Elements e;
  for (int piece : concat.inputs) {
    if (piece == kNoValue) return std::nullopt;
    if (const Tensor* t = view.Constant(piece)) {
      auto part = from_tensor(*t);
      if (!part) return std::nullopt;
      e.insert(e.end(), part->begin(), part->end());
      continue;
    }
    const ValueInfo& info = view.graph.value(piece);
    if (!info.has_shape || info.dims.size() != 1 || info.dims[0].value < 0) return std::nullopt;
    e.insert(e.end(), static_cast<size_t>(info.dims[0].value), std::nullopt);
  }
  return e;
}

}  // namespace tessera
