// Per-op shard rules (see shard_rules.h). Every rule only admits a node when running it on this rank's
// slice of the split axis gives exactly this rank's slice of its output; anything else is a reject, and
// the planner then gathers the whole value for it.
#include "parallel/tensor/shard_rules.h"

#include <algorithm>
#include <set>
#include <string>

namespace tessera {

namespace {

bool IsOnnx(const Node& node) { return (node.domain.empty() || node.domain == "ai.onnx") && !node.HasSubgraphs(); }

// Extra outputs (Dropout's mask, MaxPool's indices) must not be used: they have no shard rule.
bool OnlyFirstOutputUsed(const ShardGraphView& view, const Node& node) {
  if (node.outputs.empty() || node.outputs[0] == kNoValue) return false;
  for (size_t k = 1; k < node.outputs.size(); ++k) {
    const int v = node.outputs[k];
    if (v != kNoValue && (!view.readers[static_cast<size_t>(v)].empty() || view.is_output[static_cast<size_t>(v)])) {
      return false;
    }
  }
  return true;
}

const std::set<std::string>& UnaryOps() {
  static const std::set<std::string> ops = {
      "Relu", "LeakyRelu", "Elu", "Selu", "Celu", "Gelu", "Erf", "Tanh", "Sigmoid", "HardSigmoid", "HardSwish",
      "Softplus", "Softsign", "Mish", "Exp", "Log", "Abs", "Neg", "Sqrt", "Reciprocal", "Sin", "Cos", "Floor",
      "Ceil", "Round", "Sign", "Cast", "Identity", "Dropout", "Clip", "ThresholdedRelu", "Not"};
  return ops;
}

const std::set<std::string>& BinaryOps() {
  static const std::set<std::string> ops = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "PRelu"};
  return ops;
}

const std::set<std::string>& ChannelOps() {  // per-channel ops on NCHW, axis 1
  static const std::set<std::string> ops = {"MaxPool", "AveragePool", "LpPool", "GlobalAveragePool",
                                             "GlobalMaxPool", "GlobalLpPool"};
  return ops;
}

int64_t NormalizeAxis(int64_t axis, int rank) { return axis < 0 ? axis + rank : axis; }

ShardAdmission Admit(std::vector<std::pair<int, ValueShard>> outputs, std::vector<int> slots) {
  ShardAdmission a;
  a.verdict = ShardAdmission::kAdmit;
  a.outputs = std::move(outputs);
  a.slots = std::move(slots);
  return a;
}

ShardAdmission Reject() { return {}; }

ShardAdmission Need(std::vector<int> values) {
  ShardAdmission a;
  a.verdict = ShardAdmission::kNeed;
  a.need = std::move(values);
  return a;
}

ShardAdmission BinaryRule(const ShardGraphView& view, const std::map<int, ValueShard>& shards, int index) {
  const Node& node = view.graph.nodes[static_cast<size_t>(index)];
  if (node.inputs.size() != 2 || node.outputs.size() != 1) return Reject();
  int ranks[2];
  for (int k = 0; k < 2; ++k) {
    auto it = shards.find(node.inputs[static_cast<size_t>(k)]);
    ranks[k] = it != shards.end() ? it->second.rank : view.Rank(node.inputs[static_cast<size_t>(k)]);
  }
  if (ranks[0] < 0 || ranks[1] < 0) return Reject();
  const int out_rank = std::max(ranks[0], ranks[1]);
  int axis = -1;
  int64_t dim = 0, groups = 1;
  std::vector<int> slots;
  for (int k = 0; k < 2; ++k) {
    auto it = shards.find(node.inputs[static_cast<size_t>(k)]);
    if (it == shards.end()) continue;
    const int aligned = it->second.axis + (out_rank - ranks[k]);
    if (axis >= 0 && (aligned != axis || it->second.dim != dim)) return Reject();
    axis = aligned;
    dim = it->second.dim;
    groups = it->second.groups;
    slots.push_back(k);
  }
  if (slots.empty() || (node.op_type == "PRelu" && slots.front() != 0)) return Reject();
  if (groups > 1 && (node.op_type != "Add" || slots.size() != 1)) return Reject();
  ShardAdmission a = Admit({{node.outputs[0], ValueShard{axis, out_rank, dim, false, groups}}}, slots);
  for (int k = 0; k < 2; ++k) {
    const int v = node.inputs[static_cast<size_t>(k)];
    if (shards.count(v)) continue;
    const int at = axis - (out_rank - ranks[k]);
    if (at < 0) continue;  // broadcast over the split axis
    const int64_t d = view.Dim(v, at);
    if (d == 1) continue;
    if (view.graph.constants.count(v) && groups > 1 && ranks[k] == 1 && d == dim * groups) {
      a.slices.push_back(ConstantSlice{index, k, 1, dim, Shape{groups, dim}});  // a fused projection's bias
    } else if (groups > 1) {
      return Reject();
    } else if (view.graph.constants.count(v) && d == dim) {
      a.slices.push_back(ConstantSlice{index, k, at, dim});
    } else if (view.Constant(v) != nullptr) {
      return Reject();
    } else {
      return Need({v});
    }
  }
  return a;
}

// Exits: the split axis is the inner dimension of a product with a constant weight.
std::optional<ShardAdmission> RowSplitRule(const ShardGraphView& view, const ValueShard& in, int index) {
  const Node& node = view.graph.nodes[static_cast<size_t>(index)];
  auto weight = view.graph.constants.find(node.inputs[1]);
  if (weight == view.graph.constants.end() || weight->second.rank() != 2) return std::nullopt;
  const Tensor& w = weight->second;
  ShardAdmission a = Admit({}, {0});
  ShardExit exit{index, -1};
  if (node.op_type == "MatMul") {
    if (in.axis != in.rank - 1 || in.rank < 2 || w.dim(0) != in.dim) return std::nullopt;
    a.slices.push_back(ConstantSlice{index, 1, 0, in.dim});
    // A bias Add right after: kept on rank 0 only (it must not change the output's shape).
    const int out = node.outputs[0];
    const auto& readers = view.readers[static_cast<size_t>(out)];
    if (readers.size() == 1 && !view.is_output[static_cast<size_t>(out)]) {
      const Node& add = view.graph.nodes[static_cast<size_t>(readers[0].first)];
      const int other = add.inputs.size() == 2 ? add.inputs[static_cast<size_t>(1 - readers[0].second)] : kNoValue;
      auto bias = view.graph.constants.find(other);
      if (IsOnnx(add) && add.op_type == "Add" && add.outputs.size() == 1 && bias != view.graph.constants.end() &&
          bias->second.element_count() == w.dim(1) && bias->second.rank() <= in.rank &&
          (bias->second.rank() == 0 || bias->second.shape().back() == w.dim(1))) {
        exit.bias_add = readers[0].first;
      }
    }
  } else {  // Gemm: A is [M, K] (transA = 0) split on K; B is [K, N] or [N, K] (transB)
    if (node.GetInt("transA", 0) != 0 || in.axis != 1 || in.rank != 2) return std::nullopt;
    const int b_axis = node.GetInt("transB", 0) != 0 ? 1 : 0;
    if (w.dim(b_axis) != in.dim) return std::nullopt;
    a.slices.push_back(ConstantSlice{index, 1, b_axis, in.dim});
  }
  a.exit = exit;
  return a;
}

ShardAdmission MatMulRule(const ShardGraphView& view, const std::map<int, ValueShard>& shards, int index) {
  const Node& node = view.graph.nodes[static_cast<size_t>(index)];
  if (node.inputs.size() < 2 || node.outputs.size() != 1) return Reject();
  auto a = shards.find(node.inputs[0]);
  auto b = shards.find(node.inputs[1]);
  if (a != shards.end() && b != shards.end()) {
    // Per-head products: both split on the same batch axis.
    const ValueShard& x = a->second;
    const ValueShard& y = b->second;
    if (node.op_type != "MatMul" || x.rank != y.rank || x.rank < 3 || x.axis != y.axis || x.axis >= x.rank - 2 ||
        x.dim != y.dim) {
      return Reject();
    }
    return Admit({{node.outputs[0], x}}, {0, 1});
  }
  if (a != shards.end()) {
    if (auto exit = RowSplitRule(view, a->second, index)) return *exit;
    const ValueShard& x = a->second;
    const int other_rank = view.Rank(node.inputs[1]);
    if (node.op_type == "MatMul" && x.axis < x.rank - 2 && (other_rank == x.rank || other_rank < 0) &&
        view.Constant(node.inputs[1]) == nullptr) {
      return Need({node.inputs[1]});
    }
    return Reject();
  }
  if (b != shards.end()) {
    const ValueShard& y = b->second;
    const int other_rank = view.Rank(node.inputs[0]);
    if (node.op_type == "MatMul" && y.axis < y.rank - 2 && (other_rank == y.rank || other_rank < 0) &&
        view.Constant(node.inputs[0]) == nullptr) {
      return Need({node.inputs[0]});
    }
  }
  return Reject();
}

// The shape's elements are the constant pieces (ReshapeTarget: the ones a ShapeEdit can change) and, where
// computed at run time, what EvaluateShapeElements says of them: their value in the whole model and whether
// a rank computes its own (from a shard's size). Only the element of the split axis may be a rank's own.
ShardAdmission ReshapeRule(const ShardGraphView& view, const std::map<int, ValueShard>& shards, const ValueShard& in,
                           int index) {
  const Node& node = view.graph.nodes[static_cast<size_t>(index)];
  if (node.inputs.size() != 2 || node.outputs.size() != 1) return Reject();
  auto target = ReshapeTarget(view, node.inputs[1]);
  auto evaluated = EvaluateShapeElements(view, shards, node.inputs[1]);
  if (!target && !evaluated) return Reject();
  const int k = static_cast<int>(target ? target->size() : evaluated->size());
  if (k < 1 || (target && evaluated && static_cast<int>(evaluated->size()) != k)) return Reject();
  auto constant = [&](int i) { return target && i >= 0 && i < k && (*target)[static_cast<size_t>(i)].has_value(); };
  auto local = [&](int i) { return evaluated && i >= 0 && i < k && (*evaluated)[static_cast<size_t>(i)].local; };
  auto known = [&](int i) {
    return constant(i) || (evaluated && i >= 0 && i < k && (*evaluated)[static_cast<size_t>(i)].full.has_value());
  };
  auto at = [&](int i) {
    return constant(i) ? *(*target)[static_cast<size_t>(i)] : *(*evaluated)[static_cast<size_t>(i)].full;
  };
  for (int i = 0; i < k; ++i) {
    if (node.GetInt("allowzero", 0) != 0 && known(i) && at(i) == 0) return Reject();
  }
  // Elements other than `split` must be the same on every rank.
  auto only_local_at = [&](int split) {
    for (int i = 0; i < k; ++i) {
      if (i != split && local(i)) return false;
    }
    return true;
  };
  const int out = node.outputs[0];
  ShardAdmission a = Admit({}, {0});
  // The split element: a constant edited to this rank's count, or computed by each rank as its own.
  auto split_element = [&](int i, int64_t full) {
    if (local(i)) return only_local_at(i);
    if (!constant(i) || !only_local_at(-1)) return false;
    a.edits.push_back(ShapeEdit{index, i, full});
    return true;
  };
  if (in.axis == in.rank - 1 && known(k - 1) && at(k - 1) == in.dim) {
    // Leading dims regrouped, the split axis kept last ([b, s, D] -> [b*s, D]).
    if (!split_element(k - 1, in.dim)) return Reject();
    a.outputs.push_back({out, ValueShard{k - 1, k, in.dim, in.kv}});
    return a;
  }
  if (in.axis == in.rank - 1 && k == in.rank + 1 && known(k - 2) && (known(k - 1) || evaluated)) {
    // Features into [heads, head_dim]: the heads axis carries the split. A head size computed at run time
    // from sizes shape inference left unknown is the same on every rank (not local): the model's own,
    // D / heads, as the Reshape of the whole value needs.
    const int64_t heads = at(k - 2), head_dim = known(k - 1) ? at(k - 1) : -1;
    if (local(k - 1)) return Reject();
    if (heads > 0 && ((head_dim > 0 && heads * head_dim == in.dim) || (head_dim == -1 && in.dim % heads == 0))) {
      if (!split_element(k - 2, heads)) return Reject();
      a.outputs.push_back({out, ValueShard{k - 2, k, heads, in.kv}});
      return a;
    }
    if (heads == -1 && head_dim > 0 && in.dim % head_dim == 0 && only_local_at(-1)) {
      a.outputs.push_back({out, ValueShard{k - 2, k, in.dim / head_dim, in.kv}});
      return a;
    }
    return Reject();
  }
  if (in.axis == in.rank - 2 && k == in.rank - 1 && known(k - 1)) {
    // [.., heads, head_dim] merged back into features ([.., -1] when the head size is known).
    int64_t head_dim = view.Dim(node.inputs[0], in.rank - 1);
    if (head_dim <= 0 && at(k - 1) == -1) {
      // Unknown to shape inference: the features the one product reading it takes (o_proj's rows).
      const auto& readers = view.readers[static_cast<size_t>(out)];
      const Tensor* w = readers.size() == 1 && readers[0].second == 0
                            ? view.Constant(view.graph.nodes[static_cast<size_t>(readers[0].first)].inputs.size() > 1
                                                ? view.graph.nodes[static_cast<size_t>(readers[0].first)].inputs[1]
                                                : kNoValue)
                            : nullptr;
      if (w != nullptr && w->rank() == 2 && w->dim(0) % in.dim == 0 &&
          view.graph.nodes[static_cast<size_t>(readers[0].first)].op_type == "MatMul") {
        head_dim = w->dim(0) / in.dim;
      }
    }
    if (at(k - 1) == -1 && head_dim > 0 && only_local_at(-1)) {
      a.outputs.push_back({out, ValueShard{k - 1, k, in.dim * head_dim, in.kv}});
      return a;
    }
    if (at(k - 1) <= 0 || at(k - 1) % in.dim != 0) return Reject();
    if (head_dim > 0 && head_dim * in.dim != at(k - 1)) return Reject();
    if (!split_element(k - 1, at(k - 1))) return Reject();
    a.outputs.push_back({out, ValueShard{k - 1, k, at(k - 1), in.kv}});
    return a;
  }
  if (in.axis < in.rank - 1 && k == in.rank - 1 && local(in.axis) && known(in.axis) && at(in.axis) > in.dim &&
      at(in.axis) % in.dim == 0 && only_local_at(in.axis)) {
    // The key/value repeat of GQA: [b, kv_heads, n_rep, ..] merged into [b, kv_heads * n_rep, ..], the
    // count computed by each rank from its own query and key/value heads.
    a.outputs.push_back({out, ValueShard{in.axis, k, at(in.axis), false}});
    a.q_heads = at(in.axis);
    a.kv_heads = in.dim;
    a.repeats_kv = true;
    return a;
  }
  return Reject();
}

// Shape of a shard is admitted when every reader only picks dims other than the split one.
ShardAdmission ShapeRule(const ShardGraphView& view, const ValueShard& in, int index) {
  const Node& node = view.graph.nodes[static_cast<size_t>(index)];
  if (node.outputs.size() != 1 || node.outputs[0] == kNoValue || view.is_output[static_cast<size_t>(node.outputs[0])]) {
    return Reject();
  }
  int64_t start = NormalizeAxis(node.GetInt("start", 0), in.rank);
  int64_t end = NormalizeAxis(node.GetInt("end", in.rank), in.rank);
  start = std::clamp<int64_t>(start, 0, in.rank);
  end = std::clamp<int64_t>(end, start, in.rank);
  const int64_t length = end - start;
  bool local = false;
  for (const auto& [reader, slot] : view.readers[static_cast<size_t>(node.outputs[0])]) {
    const Node& gather = view.graph.nodes[static_cast<size_t>(reader)];
    if (!IsOnnx(gather) || gather.op_type != "Gather" || slot != 0 || gather.inputs.size() != 2 ||
        gather.GetInt("axis", 0) != 0) {
      return Reject();
    }
    const Tensor* indices = view.Constant(gather.inputs[1]);
    if (indices == nullptr || indices->dtype() != DType::kInt64) return Reject();
    for (int64_t j = 0; j < indices->element_count(); ++j) {
      int64_t i = indices->data<int64_t>()[j];
      if (i < 0) i += length;
      local |= start + i == in.axis;
    }
  }
  // Read on the split axis: this rank's size, a rank-local value for the block's Reshapes and Expands.
  ShardAdmission a = Admit({}, {0});
  if (local) a.local_outputs.push_back(node.outputs[0]);
  return a;
}

// The parts of a Split on the last axis into equal constant parts that alone reads `out` (directly or after
// a bias Add), or 0.
int64_t FusedProjectionParts(const ShardGraphView& view, int out, int rank) {
  for (int depth = 0; depth < 2; ++depth) {
    const auto& readers = view.readers[static_cast<size_t>(out)];
    if (readers.size() != 1 || view.is_output[static_cast<size_t>(out)]) return 0;
    const Node& reader = view.graph.nodes[static_cast<size_t>(readers[0].first)];
    if (!IsOnnx(reader)) return 0;
    if (reader.op_type == "Add" && depth == 0 && reader.outputs.size() == 1) {
      out = reader.outputs[0];
      continue;
    }
    if (reader.op_type != "Split" || readers[0].second != 0 || reader.outputs.size() < 2 ||
        NormalizeAxis(reader.GetInt("axis", 0), rank) != rank - 1) {
      return 0;
    }
    const Tensor* sizes = reader.inputs.size() > 1 ? view.Constant(reader.inputs[1]) : nullptr;
    if (sizes == nullptr || sizes->dtype() != DType::kInt64 ||
        sizes->element_count() != static_cast<int64_t>(reader.outputs.size())) {
      return 0;
    }
    for (int64_t i = 1; i < sizes->element_count(); ++i) {
      if (sizes->data<int64_t>()[i] != sizes->data<int64_t>()[0]) return 0;
    }
    return static_cast<int64_t>(reader.outputs.size());
  }
  return 0;
}

// A Split of a grouped shard (ValueShard::groups) into its parts: each part a plain shard; the split sizes
// become this rank's.
ShardAdmission SplitRule(const ShardGraphView& view, const ValueShard& in, int index) {
  const Node& node = view.graph.nodes[static_cast<size_t>(index)];
  if (in.groups != static_cast<int64_t>(node.outputs.size()) || node.inputs.size() != 2 ||
      NormalizeAxis(node.GetInt("axis", 0), in.rank) != in.axis) {
    return Reject();
  }
  ShardAdmission a = Admit({}, {0});
  for (size_t k = 0; k < node.outputs.size(); ++k) {
    if (node.outputs[k] == kNoValue) return Reject();
    a.outputs.push_back({node.outputs[k], ValueShard{in.axis, in.rank, in.dim}});
    a.edits.push_back(ShapeEdit{index, static_cast<int>(k), in.dim});
  }
  return a;
}

}  // namespace

std::optional<ShardAdmission> SeedRule(const ShardGraphView& view, int index) {
  const Node& node = view.graph.nodes[static_cast<size_t>(index)];
  if (node.domain == "com.microsoft") return ContribSeedRule(view, index);
  if (!IsOnnx(node) || node.outputs.size() != 1 || node.inputs.size() < 2) return std::nullopt;
  if (node.inputs[0] == kNoValue || view.Constant(node.inputs[0]) != nullptr) return std::nullopt;
  auto weight = view.graph.constants.find(node.inputs[1]);
  if (weight == view.graph.constants.end()) return std::nullopt;
  const Tensor& w = weight->second;
  const int out = node.outputs[0];
  ShardAdmission a = Admit({}, {});
  if (node.op_type == "MatMul" && node.inputs.size() == 2 && w.rank() == 2) {
    const int rank = view.Rank(node.inputs[0]);
    if (rank < 2) return std::nullopt;
    if (const int64_t parts = FusedProjectionParts(view, out, rank); parts > 1) {
      // A fused QKV projection: each rank takes its heads' columns of every part.
      const int64_t part = w.dim(1) / parts;
      a.outputs.push_back({out, ValueShard{rank - 1, rank, part, false, parts}});
      a.slices.push_back(ConstantSlice{index, 1, 2, part, Shape{w.dim(0), parts, part}});
      return a;
    }
    a.outputs.push_back({out, ValueShard{rank - 1, rank, w.dim(1)}});
    a.slices.push_back(ConstantSlice{index, 1, 1, w.dim(1)});
    return a;
  }
  if (node.op_type == "Gemm" && w.rank() == 2) {
    const bool trans_b = node.GetInt("transB", 0) != 0;
    const int64_t n = trans_b ? w.dim(0) : w.dim(1);
    a.outputs.push_back({out, ValueShard{1, 2, n}});
    a.slices.push_back(ConstantSlice{index, 1, trans_b ? 0 : 1, n});
    if (node.inputs.size() > 2 && node.inputs[2] != kNoValue) {
      auto c = view.graph.constants.find(node.inputs[2]);
      if (c == view.graph.constants.end() || c->second.rank() > 2) return std::nullopt;
      const int64_t last = c->second.rank() == 0 ? 1 : c->second.shape().back();
      if (last == n && n != 1) {
        a.slices.push_back(ConstantSlice{index, 2, static_cast<int>(c->second.rank()) - 1, n});
      } else if (last != 1) {
        return std::nullopt;
      }
    }
    return a;
  }
  if (node.op_type == "Conv" && w.rank() >= 3 && node.GetInt("group", 1) == 1) {
    a.outputs.push_back({out, ValueShard{1, static_cast<int>(w.rank()), w.dim(0)}});
    a.slices.push_back(ConstantSlice{index, 1, 0, w.dim(0)});
    if (node.inputs.size() > 2 && node.inputs[2] != kNoValue) {
      auto b = view.graph.constants.find(node.inputs[2]);
      if (b == view.graph.constants.end() || b->second.rank() != 1 || b->second.dim(0) != w.dim(0)) return std::nullopt;
      a.slices.push_back(ConstantSlice{index, 2, 0, w.dim(0)});
    }
    return a;
  }
  return std::nullopt;
}

ShardAdmission AdmitRule(const ShardGraphView& view, const std::map<int, ValueShard>& shards, int index,
                         const std::set<int>& local_shapes) {
  const Node& node = view.graph.nodes[static_cast<size_t>(index)];
  const std::string& op = node.op_type;
  bool reads_local = false;
  for (int v : node.inputs) reads_local |= local_shapes.count(v) > 0;
  // Only Reshape and Expand of a shard read a rank-local shape in their rules; any other reader of one is
  // shape arithmetic.
  const bool shaping_a_shard = (op == "Reshape" || op == "Expand") && !node.inputs.empty() &&
                               shards.count(node.inputs[0]) > 0;
  if (reads_local && !(IsOnnx(node) && shaping_a_shard)) {
    return PlainAttentionRule(view, shards, index, local_shapes);
  }
  for (int v : node.inputs) {
    auto it = shards.find(v);
    if (it != shards.end() && it->second.groups > 1 && op != "Add" && op != "Split") return Reject();
  }
  if (node.domain == "com.microsoft") return ContribAdmitRule(view, shards, index);
  if (!IsOnnx(node) || node.outputs.empty()) return Reject();
  if (op == "Slice" || op == "Concat" || op == "Unsqueeze" || op == "Expand" || op == "Where") {
    return PlainAttentionRule(view, shards, index, local_shapes);
  }
  if (BinaryOps().count(op)) return BinaryRule(view, shards, index);
  if (op == "MatMul" || op == "Gemm") return MatMulRule(view, shards, index);
  auto first = shards.find(node.inputs.empty() ? kNoValue : node.inputs[0]);
  if (first == shards.end()) return Reject();
  const ValueShard& in = first->second;
  for (size_t k = 1; k < node.inputs.size(); ++k) {
    if (shards.count(node.inputs[k])) return Reject();  // only the data input may be a shard
  }
  if (UnaryOps().count(op)) {
    for (size_t k = 1; k < node.inputs.size(); ++k) {
      const int v = node.inputs[k];
      if (v == kNoValue) continue;
      const Tensor* t = view.Constant(v);
      if (t == nullptr ? view.Rank(v) != 0 : t->element_count() != 1) return Reject();
    }
    if (!OnlyFirstOutputUsed(view, node)) return Reject();
    return Admit({{node.outputs[0], in}}, {0});
  }
  if (op == "Transpose") {
    std::vector<int64_t> perm = node.GetInts("perm");
    if (perm.empty()) {
      for (int i = in.rank - 1; i >= 0; --i) perm.push_back(i);
    }
    auto it = std::find(perm.begin(), perm.end(), in.axis);
    if (static_cast<int>(perm.size()) != in.rank || it == perm.end()) return Reject();
    return Admit({{node.outputs[0], ValueShard{static_cast<int>(it - perm.begin()), in.rank, in.dim}}}, {0});
  }
  if (op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") {
    const int64_t axis = NormalizeAxis(node.GetInt("axis", node.opset >= 13 ? -1 : 1), in.rank);
    // Before opset 13 the op flattens dims from `axis` on into one: the split must come before them.
    const bool ok = node.opset >= 13 ? axis != in.axis : in.axis < axis;
    return ok ? Admit({{node.outputs[0], in}}, {0}) : Reject();
  }
  if (op == "Reshape") return ReshapeRule(view, shards, in, index);
  if (op == "Split") return SplitRule(view, in, index);
  if (op == "Shape") return ShapeRule(view, in, index);
  if (op == "BatchNormalization" && in.axis == 1 && node.inputs.size() == 5 && OnlyFirstOutputUsed(view, node)) {
    ShardAdmission a = Admit({{node.outputs[0], in}}, {0});
    for (int k = 1; k < 5; ++k) {
      auto c = view.graph.constants.find(node.inputs[static_cast<size_t>(k)]);
      if (c == view.graph.constants.end() || c->second.rank() != 1 || c->second.dim(0) != in.dim) return Reject();
      a.slices.push_back(ConstantSlice{index, k, 0, in.dim});
    }
    return a;
  }
  if (ChannelOps().count(op) && in.axis == 1 && OnlyFirstOutputUsed(view, node)) {
    return Admit({{node.outputs[0], in}}, {0});
  }
  return Reject();
}

int DataInput(const ShardGraphView& view, int index) {
  const Node& node = view.graph.nodes[static_cast<size_t>(index)];
  if (node.inputs.empty()) return kNoValue;
  if (node.op_type == "Reshape" || node.op_type == "Transpose" || node.op_type == "RotaryEmbedding" ||
      UnaryOps().count(node.op_type)) {
    return node.inputs[0];
  }
  int found = kNoValue;
  for (int v : node.inputs) {
    if (v == kNoValue || view.Constant(v) != nullptr) continue;
    if (found != kNoValue) return kNoValue;
    found = v;
  }
  return found;
}

}  // namespace tessera
