// ShardGraphView and ReshapeTarget: what the shard rules read about the graph around a node.
#include "parallel/tensor/shard_rules.h"

namespace tessera {

ShardGraphView::ShardGraphView(const Graph& g)
    : graph(g), readers(g.values.size()), producer(g.values.size(), -1), is_output(g.values.size(), false) {
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
  const ValueInfo& info = graph.value(value);
  return info.has_shape ? static_cast<int>(info.dims.size()) : -1;
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
