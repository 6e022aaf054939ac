// Shard rules for attention written out in plain ONNX ops, as Optimum exports decoders (see shard_rules.h):
//
//   Slice      off the split axis (rotary's halves): the same split out;
//   Concat     of shards off the split axis (rotary's halves, past + new key/value): a past input named in
//              TensorParallelOptions::sharded_io joins split, so the KV cache lives with its heads;
//   Unsqueeze  the split axis moves with the inserted dims;
//   Expand     over the shard, its shape broadcasting the split axis (1) or this rank's own size there;
//   Where      a condition and fill broadcast over the split axis (the causal mask);
//   shape arithmetic  Gather/Unsqueeze/Concat/Cast/Div/Mul/... of rank-local shape values: local again.
//
// The key/value repeat of GQA (Unsqueeze, Expand to n_rep copies, Reshape merging them into query heads)
// computes n_rep at run time as Shape(q)[heads] / Shape(k)[heads]; on a shard those are this rank's
// counts, so the graph as exported already repeats each rank's key/value heads for its query heads. The
// rules only prove it: EvaluateShapeElements follows the shape arithmetic with the whole model's sizes and
// marks which elements come from a shard's split axis.
#include <algorithm>
#include <string>

#include "parallel/tensor/shard_rules.h"

namespace tessera {

namespace {

constexpr int kMaxShapeDepth = 24;

bool IsOnnxOp(const Node& node) { return (node.domain.empty() || node.domain == "ai.onnx") && !node.HasSubgraphs(); }

using Elements = std::vector<ShapeElement>;

std::optional<Elements> FromTensor(const Tensor& t) {
  if (t.rank() > 1) return std::nullopt;
  Elements e;
  for (int64_t i = 0; i < t.element_count(); ++i) {
    if (t.dtype() == DType::kInt64) {
      e.push_back({t.data<int64_t>()[i], false});
    } else if (t.dtype() == DType::kInt32) {
      e.push_back({t.data<int32_t>()[i], false});
    } else {
      return std::nullopt;
    }
  }
  return e;
}

// Elementwise a op b with numpy broadcasting of length-1 operands.
template <typename Op>
std::optional<Elements> Elementwise(const Elements& a, const Elements& b, Op op) {
  if (a.size() != b.size() && a.size() != 1 && b.size() != 1) return std::nullopt;
  Elements out(std::max(a.size(), b.size()));
  for (size_t i = 0; i < out.size(); ++i) {
    const ShapeElement& x = a[a.size() == 1 ? 0 : i];
    const ShapeElement& y = b[b.size() == 1 ? 0 : i];
    out[i].local = x.local || y.local;
    if (x.full && y.full) out[i].full = op(*x.full, *y.full);
  }
  return out;
}

std::optional<Elements> Evaluate(const ShardGraphView& view, const std::map<int, ValueShard>& shards, int value,
                                 int depth);

std::optional<Elements> EvaluateShape(const ShardGraphView& view, const std::map<int, ValueShard>& shards,
                                      const Node& node, int depth) {
  const int x = node.inputs[0];
  auto shard = shards.find(x);
  int rank = shard != shards.end() ? shard->second.rank : view.Rank(x);
  std::optional<Elements> vector;
  if (rank < 0 || rank == 1) {
    vector = Evaluate(view, shards, x, depth + 1);  // the length of a shape vector
    if (vector) rank = 1;
  }
  if (rank < 0) return std::nullopt;
  auto normalize = [rank](int64_t a) { return std::clamp<int64_t>(a < 0 ? a + rank : a, 0, rank); };
  const int64_t start = normalize(node.GetInt("start", 0)), end = normalize(node.GetInt("end", rank));
  Elements e;
  for (int64_t i = start; i < end; ++i) {
    if (shard != shards.end() && i == shard->second.axis) {
      e.push_back({shard->second.dim, true});
    } else if (vector && rank == 1) {
      e.push_back({static_cast<int64_t>(vector->size()), false});
    } else {
      const int64_t d = view.Dim(x, static_cast<int>(i));
      e.push_back({d >= 0 ? std::optional<int64_t>(d) : std::nullopt, false});
    }
  }
  return e;
}

std::optional<Elements> Evaluate(const ShardGraphView& view, const std::map<int, ValueShard>& shards, int value,
                                 int depth) {
  if (value == kNoValue || depth > kMaxShapeDepth) return std::nullopt;
  if (const Tensor* t = view.Constant(value)) return FromTensor(*t);
  const int p = view.producer[static_cast<size_t>(value)];
  if (p < 0) return std::nullopt;
  const Node& node = view.graph.nodes[static_cast<size_t>(p)];
  if (!IsOnnxOp(node) || node.inputs.empty()) return std::nullopt;
  const std::string& op = node.op_type;
  if (op == "Shape") return EvaluateShape(view, shards, node, depth);
  auto input = [&](size_t k) { return k < node.inputs.size() ? Evaluate(view, shards, node.inputs[k], depth + 1)
                                                              : std::nullopt; };
  if (op == "Cast" || op == "Identity" || op == "Unsqueeze" || op == "Squeeze" || op == "Reshape") {
    return input(0);  // a scalar or vector of shape integers keeps its elements
  }
  if (op == "Gather") {
    auto data = input(0);
    const Tensor* indices = node.inputs.size() == 2 ? view.Constant(node.inputs[1]) : nullptr;
    auto picks = indices != nullptr ? FromTensor(*indices) : std::nullopt;
    if (!data || !picks || node.GetInt("axis", 0) != 0) return std::nullopt;
    Elements e;
    for (const ShapeElement& i : *picks) {
      int64_t k = *i.full < 0 ? *i.full + static_cast<int64_t>(data->size()) : *i.full;
      if (k < 0 || k >= static_cast<int64_t>(data->size())) return std::nullopt;
      e.push_back((*data)[static_cast<size_t>(k)]);
    }
    return e;
  }
  if (op == "Concat") {
    Elements e;
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      auto part = input(k);
      if (!part) return std::nullopt;
      e.insert(e.end(), part->begin(), part->end());
    }
    return e;
  }
  if (op == "ConstantOfShape") {
    auto shape = input(0);
    if (!shape || shape->size() != 1 || !(*shape)[0].full) return std::nullopt;
    const Attribute* a = node.FindAttribute("value");
    std::optional<Elements> fill = a != nullptr && a->type == Attribute::Type::kTensor ? FromTensor(a->t)
                                                                                       : Elements{{0, false}};
    if (!fill || fill->size() != 1) return std::nullopt;
    return Elements(static_cast<size_t>(*(*shape)[0].full), (*fill)[0]);
  }
  if (node.inputs.size() == 2 && (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Equal")) {
    auto a = input(0), b = input(1);
    if (!a || !b) return std::nullopt;
    if (op == "Add") return Elementwise(*a, *b, [](int64_t x, int64_t y) { return x + y; });
    if (op == "Sub") return Elementwise(*a, *b, [](int64_t x, int64_t y) { return x - y; });
    if (op == "Mul") return Elementwise(*a, *b, [](int64_t x, int64_t y) { return x * y; });
    if (op == "Equal") return Elementwise(*a, *b, [](int64_t x, int64_t y) -> int64_t { return x == y; });
    // Integer Div truncates; a zero divisor leaves the element unknown.
    auto out = Elementwise(*a, *b, [](int64_t x, int64_t y) { return y == 0 ? int64_t{0} : x / y; });
    if (out) {
      for (size_t i = 0; i < out->size(); ++i) {
        const ShapeElement& y = (*b)[b->size() == 1 ? 0 : i];
        if (y.full && *y.full == 0) (*out)[i].full.reset();
      }
    }
    return out;
  }
  if (op == "Where" && node.inputs.size() == 3) {
    auto c = input(0), a = input(1), b = input(2);
    if (!c || !a || !b) return std::nullopt;
    const size_t n = std::max({c->size(), a->size(), b->size()});
    Elements e(n);
    for (size_t i = 0; i < n; ++i) {
      auto at = [i](const Elements& v) -> const ShapeElement& { return v[v.size() == 1 ? 0 : i]; };
      if ((c->size() != 1 && c->size() != n) || (a->size() != 1 && a->size() != n) ||
          (b->size() != 1 && b->size() != n)) {
        return std::nullopt;
      }
      if (!at(*c).full) {
        e[i].local = true;
        continue;
      }
      const ShapeElement& chosen = *at(*c).full != 0 ? at(*a) : at(*b);
      e[i] = chosen;
      e[i].local |= at(*c).local;
    }
    return e;
  }
  return std::nullopt;
}

int64_t Normalize(int64_t axis, int rank) { return axis < 0 ? axis + rank : axis; }

// The integer constant list in input `slot`, or else attribute `name` (older opsets); nothing when neither.
std::optional<std::vector<int64_t>> IntList(const ShardGraphView& view, const Node& node, size_t slot,
                                            const char* name) {
  if (slot < node.inputs.size() && node.inputs[slot] != kNoValue) {
    const Tensor* t = view.Constant(node.inputs[slot]);
    auto e = t != nullptr ? FromTensor(*t) : std::nullopt;
    if (!e) return std::nullopt;
    std::vector<int64_t> v;
    for (const ShapeElement& x : *e) v.push_back(*x.full);
    return v;
  }
  if (node.FindAttribute(name) != nullptr) return node.GetInts(name);
  return std::nullopt;
}

// Integer ops over rank-local shape values give rank-local values (a Shape of one gives its length).
ShardAdmission LocalShapeRule(const ShardGraphView& view, const std::set<int>& local_shapes, int index) {
  static const std::set<std::string> ops = {"Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Identity",
                                            "Div", "Mul", "Add", "Sub", "Equal", "Where", "Reshape", "Shape"};
  const Node& node = view.graph.nodes[static_cast<size_t>(index)];
  if (!IsOnnxOp(node) || !ops.count(node.op_type) || node.outputs.size() != 1) return {};
  // Reshape only of a local vector itself (its shape, [-1], being constant).
  if (node.op_type == "Reshape" && (!local_shapes.count(node.inputs[0]) || view.Constant(node.inputs[1]) == nullptr)) {
    return {};
  }
  ShardAdmission a = ShardAdmission::Admit({}, {});
  if (node.op_type != "Shape") a.local_outputs.push_back(node.outputs[0]);
  return a;
}

ShardAdmission SliceRule(const ShardGraphView& view, const ValueShard& in, int index) {
  const Node& node = view.graph.nodes[static_cast<size_t>(index)];
  if (node.outputs.size() != 1) return {};
  auto axes = IntList(view, node, 3, "axes");
  if (!axes) return {};
  for (int64_t a : *axes) {
    if (Normalize(a, in.rank) == in.axis) return {};
  }
  return ShardAdmission::Admit({{node.outputs[0], in}}, {0});
}

// A graph input may join a Concat split when it is a rank's own (sharded_io) and read nowhere else whole.
bool InputMayBeSplit(const ShardGraphView& view, int value) {
  return view.producer[static_cast<size_t>(value)] < 0 && view.sharded_io[static_cast<size_t>(value)] &&
         !view.is_output[static_cast<size_t>(value)] && view.Constant(value) == nullptr;
}

ShardAdmission ConcatRule(const ShardGraphView& view, const std::map<int, ValueShard>& shards, int index) {
  const Node& node = view.graph.nodes[static_cast<size_t>(index)];
  if (node.outputs.size() != 1) return {};
  const ValueShard* split = nullptr;
  for (int v : node.inputs) {
    auto it = shards.find(v);
    if (it == shards.end()) continue;
    if (split != nullptr && (it->second.axis != split->axis || it->second.rank != split->rank ||
                             it->second.dim != split->dim || it->second.kv != split->kv)) {
      return {};
    }
    split = &it->second;
  }
  if (split == nullptr || Normalize(node.GetInt("axis", 0), split->rank) == split->axis) return {};
  ShardAdmission a = ShardAdmission::Admit({{node.outputs[0], *split}}, {});
  for (size_t k = 0; k < node.inputs.size(); ++k) {
    const int v = node.inputs[k];
    if (!shards.count(v)) {
      if (!InputMayBeSplit(view, v) || view.Rank(v) != split->rank) return {};
      const int64_t d = view.Dim(v, split->axis);
      if (d >= 0 && d != split->dim) return {};
      a.outputs.push_back({v, *split});
    }
    a.slots.push_back(static_cast<int>(k));
  }
  return a;
}

ShardAdmission UnsqueezeRule(const ShardGraphView& view, const ValueShard& in, int index) {
  const Node& node = view.graph.nodes[static_cast<size_t>(index)];
  auto axes = IntList(view, node, 1, "axes");
  if (!axes || axes->empty() || node.outputs.size() != 1) return {};
  const int out_rank = in.rank + static_cast<int>(axes->size());
  std::vector<bool> inserted(static_cast<size_t>(out_rank), false);
  for (int64_t a : *axes) {
    const int64_t n = Normalize(a, out_rank);
    if (n < 0 || n >= out_rank) return {};
    inserted[static_cast<size_t>(n)] = true;
  }
  int seen = 0;
  for (int i = 0; i < out_rank; ++i) {
    if (inserted[static_cast<size_t>(i)]) continue;
    if (seen++ == in.axis) return ShardAdmission::Admit({{node.outputs[0], ValueShard{i, out_rank, in.dim, in.kv}}}, {0});
  }
  return {};
}

// Expand of a shard: the target's element on the split axis must broadcast it (1) or be this rank's size.
// Other rank-local elements (the repeat count of GQA) change a non-split axis per rank: then the only
// reader must be the Reshape that merges it into the split axis.
ShardAdmission ExpandRule(const ShardGraphView& view, const std::map<int, ValueShard>& shards,
                          const ValueShard& in, int index) {
  const Node& node = view.graph.nodes[static_cast<size_t>(index)];
  if (node.inputs.size() != 2 || node.outputs.size() != 1 || shards.count(node.inputs[1])) return {};
  auto shape = EvaluateShapeElements(view, shards, node.inputs[1]);
  if (!shape) return {};
  const int out_rank = std::max(in.rank, static_cast<int>(shape->size()));
  const int axis = in.axis + (out_rank - in.rank);
  const int element = axis - (out_rank - static_cast<int>(shape->size()));
  if (element >= 0) {
    const ShapeElement& e = (*shape)[static_cast<size_t>(element)];
    const bool broadcasts = !e.local && e.full && *e.full == 1;
    const bool own_size = e.local && e.full && *e.full == in.dim;
    if (!broadcasts && !own_size) return {};
  }
  bool varies = false;
  for (int i = 0; i < static_cast<int>(shape->size()); ++i) varies |= i != element && (*shape)[i].local;
  if (varies) {
    const auto& readers = view.readers[static_cast<size_t>(node.outputs[0])];
    if (readers.size() != 1 || view.is_output[static_cast<size_t>(node.outputs[0])] ||
        view.graph.nodes[static_cast<size_t>(readers[0].first)].op_type != "Reshape") {
      return {};
    }
  }
  return ShardAdmission::Admit({{node.outputs[0], ValueShard{axis, out_rank, in.dim, in.kv}}}, {0});
}

// Whether `value` has size 1 on its axis `from_end` places from the last (or lacks that axis), proven from
// its info or the ops making it: exporters leave the causal mask's shape unknown, built of Unsqueezes and
// broadcasting comparisons.
bool SizeOneFromEnd(const ShardGraphView& view, int value, int from_end, int depth = 0) {
  if (value == kNoValue || depth > kMaxShapeDepth) return false;
  const int rank = view.Rank(value);
  if (rank >= 0 && from_end >= rank) return true;
  if (rank >= 0 && view.Dim(value, rank - 1 - from_end) == 1) return true;
  const int p = view.producer[static_cast<size_t>(value)];
  if (p < 0 || rank < 0) return false;
  const Node& node = view.graph.nodes[static_cast<size_t>(p)];
  if (!IsOnnxOp(node) || node.inputs.empty()) return false;
  static const std::set<std::string> broadcasting = {"And", "Or", "Xor", "Greater", "Less", "GreaterOrEqual",
                                                     "LessOrEqual", "Equal", "Add", "Sub", "Mul", "Div", "Where",
                                                     "Not", "Cast", "Identity"};
  if (broadcasting.count(node.op_type)) {
    for (int input : node.inputs) {
      if (!SizeOneFromEnd(view, input, from_end, depth + 1)) return false;
    }
    return true;
  }
  if (node.op_type == "Unsqueeze") {
    auto axes = IntList(view, node, 1, "axes");
    if (!axes) return false;
    const int axis = rank - 1 - from_end;
    int inserted_after = 0;  // inserted axes after `axis`
    for (int64_t a : *axes) {
      const int64_t n = Normalize(a, rank);
      if (n == axis) return true;
      inserted_after += n > axis;
    }
    return SizeOneFromEnd(view, node.inputs[0], from_end - inserted_after, depth + 1);
  }
  return false;
}

// Where(cond, x, y) with the shard in x or y; the others broadcast over the split axis.
ShardAdmission WhereRule(const ShardGraphView& view, const std::map<int, ValueShard>& shards, int index) {
  const Node& node = view.graph.nodes[static_cast<size_t>(index)];
  if (node.inputs.size() != 3 || node.outputs.size() != 1 || shards.count(node.inputs[0])) return {};
  const ValueShard* split = nullptr;
  int out_rank = 0;
  for (int v : node.inputs) {
    auto it = shards.find(v);
    out_rank = std::max(out_rank, it != shards.end() ? it->second.rank : view.Rank(v));
    if (it == shards.end()) continue;
    if (split != nullptr && (it->second.axis != split->axis || it->second.dim != split->dim)) return {};
    split = &it->second;
  }
  if (split == nullptr || split->rank != out_rank) return {};
  std::vector<int> slots;
  for (size_t k = 0; k < 3; ++k) {
    const int v = node.inputs[k];
    if (shards.count(v)) {
      slots.push_back(static_cast<int>(k));
      continue;
    }
    if (!SizeOneFromEnd(view, v, split->rank - 1 - split->axis)) return {};
  }
  return ShardAdmission::Admit({{node.outputs[0], *split}}, slots);
}

}  // namespace

std::optional<std::vector<ShapeElement>> EvaluateShapeElements(const ShardGraphView& view,
                                                               const std::map<int, ValueShard>& shards, int value) {
  return Evaluate(view, shards, value, 0);
}

ShardAdmission PlainAttentionRule(const ShardGraphView& view, const std::map<int, ValueShard>& shards, int index,
                                  const std::set<int>& local_shapes) {
  const Node& node = view.graph.nodes[static_cast<size_t>(index)];
  if (!IsOnnxOp(node) || node.inputs.empty()) return {};
  bool reads_shard = false, reads_local = false;
  for (int v : node.inputs) {
    reads_shard |= shards.count(v) > 0;
    reads_local |= local_shapes.count(v) > 0;
  }
  if (!reads_shard) return reads_local ? LocalShapeRule(view, local_shapes, index) : ShardAdmission{};
  const std::string& op = node.op_type;
  if (op == "Concat") return ConcatRule(view, shards, index);
  if (op == "Where") return WhereRule(view, shards, index);
  auto first = shards.find(node.inputs[0]);
  if (first == shards.end()) return {};
  for (size_t k = 1; k < node.inputs.size(); ++k) {
    if (shards.count(node.inputs[k])) return {};
  }
  if (op == "Slice") return SliceRule(view, first->second, index);
  if (op == "Unsqueeze") return UnsqueezeRule(view, first->second, index);
  if (op == "Expand") return ExpandRule(view, shards, first->second, index);
  return {};
}

}  // namespace tessera
