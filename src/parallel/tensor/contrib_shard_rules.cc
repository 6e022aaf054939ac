// Shard rules of the com.microsoft ops that ONNX Runtime GenAI decoders are made of (see shard_rules.h):
//
//   MatMulNBits   a seed (split by output columns N: B, scales, zero points and bias by rows) or an exit
//                 (split by K between quantization blocks, then one all-reduce);
//   RotaryEmbedding  per head: a head shard in, the same shard out, num_heads set to this rank's count;
//   GroupQueryAttention  Q, K and V split by heads, the past key/value fed split on their heads axis
//                 (graph inputs named in TensorParallelOptions::sharded_io: the KV cache lives with its
//                 heads), the output split by heads and the present key/value returned split;
//   MultiHeadAttention  the same with one key/value head per query head (3-D query/key/value, no bias).
//
// The unit of an attention block is one key/value head with its num_heads / kv_num_heads query heads, so
// every rank's query heads attend to the key/value heads it holds.
#include <cstdio>
#include <set>
#include <string>

#include "parallel/tensor/shard_rules.h"

namespace tessera {

namespace {

constexpr const char* kMicrosoftDomain = "com.microsoft";

ShardAdmission Needs(std::vector<int> values) {
  ShardAdmission a;
  a.verdict = ShardAdmission::kNeed;
  a.need = std::move(values);
  return a;
}

bool Given(const Node& node, size_t slot) { return slot < node.inputs.size() && node.inputs[slot] != kNoValue; }

bool OutputUsed(const ShardGraphView& view, const Node& node, size_t slot) {
  if (slot >= node.outputs.size() || node.outputs[slot] == kNoValue) return false;
  const int v = node.outputs[slot];
  return !view.readers[static_cast<size_t>(v)].empty() || view.is_output[static_cast<size_t>(v)];
}

// The constants of a MatMulNBits node, checked against its attributes; nullopt when the layout is not
// the plain one the rules know (B [N, blocks, blob], scales and zero points of N rows).
struct NBitsLayout {
  int64_t K = 0, N = 0, bits = 0, block_size = 0, blocks = 0;
  const Tensor* scales = nullptr;
  const Tensor* zero_points = nullptr;  // nullptr when absent
  const Tensor* bias = nullptr;
  bool has_g_idx = false;
};

std::optional<NBitsLayout> ReadNBitsLayout(const ShardGraphView& view, const Node& node) {
  NBitsLayout l;
  l.K = node.GetInt("K", 0);
  l.N = node.GetInt("N", 0);
  l.bits = node.GetInt("bits", 4);
  l.block_size = node.GetInt("block_size", 0);
  if (l.K <= 0 || l.N <= 0 || (l.bits != 4 && l.bits != 8) || l.block_size <= 0) return std::nullopt;
  l.blocks = (l.K + l.block_size - 1) / l.block_size;
  auto constant = [&](size_t slot) -> const Tensor* {
    if (!Given(node, slot)) return nullptr;
    auto it = view.graph.constants.find(node.inputs[slot]);
    return it == view.graph.constants.end() ? nullptr : &it->second;
  };
  const Tensor* b = constant(1);
  l.scales = constant(2);
  if (b == nullptr || l.scales == nullptr || b->rank() != 3 || b->dim(0) != l.N || b->dim(1) != l.blocks) {
    return std::nullopt;
  }
  if (l.scales->element_count() != l.N * l.blocks) return std::nullopt;
  if (Given(node, 3)) {
    l.zero_points = constant(3);
    if (l.zero_points == nullptr || l.zero_points->element_count() % l.N != 0) return std::nullopt;
  }
  l.has_g_idx = Given(node, 4);
  if (Given(node, 5)) {
    l.bias = constant(5);
    if (l.bias == nullptr || l.bias->element_count() != l.N) return std::nullopt;
  }
  return l;
}

// The column split of a MatMulNBits: rows n of B, scales, zero points and bias.
std::optional<ShardAdmission> NBitsSeedRule(const ShardGraphView& view, int index) {
  const Node& node = view.graph.nodes[static_cast<size_t>(index)];
  if (!Given(node, 0) || view.Constant(node.inputs[0]) != nullptr || node.outputs.size() != 1) return std::nullopt;
  auto l = ReadNBitsLayout(view, node);
  const int rank = view.Rank(node.inputs[0]);
  if (!l || rank < 2) return std::nullopt;
  ShardAdmission a = ShardAdmission::Admit({{node.outputs[0], ValueShard{rank - 1, rank, l->N}}}, {});
  a.slices.push_back(ConstantSlice{index, 1, 0, l->N, {}});
  a.slices.push_back(ConstantSlice{index, 2, 0, l->N, Shape{l->N, l->blocks}});
  if (l->zero_points != nullptr) {
    a.slices.push_back(ConstantSlice{index, 3, 0, l->N, Shape{l->N, l->zero_points->element_count() / l->N}});
  }
  if (l->bias != nullptr) a.slices.push_back(ConstantSlice{index, 5, 0, l->N, Shape{l->N}});
  a.attribute_edits.push_back(AttributeEdit{index, "N", l->N});
  return a;
}

// The row split of a MatMulNBits: K cut between blocks (and between the bytes of packed zero points), so
// the units must divide the blocks; each rank's product is a partial sum for the all-reduce after it.
ShardAdmission NBitsExitRule(const ShardGraphView& view, const ValueShard& in, int index) {
  const Node& node = view.graph.nodes[static_cast<size_t>(index)];
  auto l = ReadNBitsLayout(view, node);
  if (!l || l->has_g_idx || in.axis != in.rank - 1 || in.dim != l->K || l->K % l->block_size != 0) return {};
  const bool packed_zeros = l->zero_points != nullptr && l->zero_points->dtype() == DType::kUInt8;
  const int64_t per_byte = packed_zeros ? 8 / l->bits : 1;
  if (l->blocks % per_byte != 0) return {};
  ShardAdmission a = ShardAdmission::Admit({}, {0});
  a.slices.push_back(ConstantSlice{index, 1, 1, l->blocks, {}});
  a.slices.push_back(ConstantSlice{index, 2, 1, l->blocks, Shape{l->N, l->blocks}});
  if (l->zero_points != nullptr) {
    const int64_t row = l->zero_points->element_count() / l->N;
    if (row != l->blocks / per_byte) return {};
    a.slices.push_back(ConstantSlice{index, 3, 1, row, Shape{l->N, row}});
  }
  a.attribute_edits.push_back(AttributeEdit{index, "K", l->K});
  a.unit_divisors.push_back(l->blocks / per_byte);
  a.exit = ShardExit{index, -1};
  return a;
}

ShardAdmission RotaryRule(const ShardGraphView& view, const std::map<int, ValueShard>& shards, int index) {
  const Node& node = view.graph.nodes[static_cast<size_t>(index)];
  auto x = shards.find(node.inputs.empty() ? kNoValue : node.inputs[0]);
  if (x == shards.end() || node.outputs.size() != 1) return {};
  for (size_t k = 1; k < node.inputs.size(); ++k) {
    if (shards.count(node.inputs[k])) return {};
  }
  const ValueShard& in = x->second;
  // [batch, seq, heads * head_size] split on the last axis, or [batch, heads, seq, head_size] on axis 1.
  if (!((in.rank == 3 && in.axis == 2) || (in.rank == 4 && in.axis == 1))) return {};
  ShardAdmission a = ShardAdmission::Admit({{node.outputs[0], in}}, {0});
  const int64_t heads = node.GetInt("num_heads", 0);
  if (heads > 0) {
    if (in.rank == 3 && in.dim % heads != 0) return {};
    a.attribute_edits.push_back(AttributeEdit{index, "num_heads", heads});
    a.unit_divisors.push_back(heads);
  }
  return a;
}

// A past key/value input may come in split when the graph reads it here only and it is named as a
// rank's own (TensorParallelOptions::sharded_io).
bool PastMayBeSplit(const ShardGraphView& view, const std::map<int, ValueShard>& shards, int value, int64_t kv_heads) {
  if (auto it = shards.find(value); it != shards.end()) {
    return it->second.rank == 4 && it->second.axis == 1 && it->second.dim == kv_heads;
  }
  return view.producer[static_cast<size_t>(value)] < 0 && view.sharded_io[static_cast<size_t>(value)] &&
         view.readers[static_cast<size_t>(value)].size() == 1 && !view.is_output[static_cast<size_t>(value)];
}

ShardAdmission GroupQueryAttentionRule(const ShardGraphView& view, const std::map<int, ValueShard>& shards,
                                       int index) {
  const Node& node = view.graph.nodes[static_cast<size_t>(index)];
  const int64_t heads = node.GetInt("num_heads", 0), kv_heads = node.GetInt("kv_num_heads", 0);
  // Packed QKV (K and V absent), an attention bias per head, head sinks and the QK output have no rule.
  if (heads <= 0 || kv_heads <= 0 || heads % kv_heads != 0 || !Given(node, 1) || !Given(node, 2) ||
      Given(node, 10) || Given(node, 11) || OutputUsed(view, node, 3)) {
    return {};
  }
  auto q = shards.find(node.inputs[0]);
  if (q == shards.end() || q->second.rank != 3 || q->second.axis != 2 || q->second.dim % heads != 0) return {};
  std::vector<int> missing;
  for (size_t slot : {1, 2}) {
    if (!shards.count(node.inputs[slot])) missing.push_back(node.inputs[slot]);
  }
  if (!missing.empty()) return Needs(missing);
  for (size_t slot = 5; slot < node.inputs.size(); ++slot) {
    if (shards.count(node.inputs[slot])) return {};
  }
  const int64_t head_size = q->second.dim / heads;
  const ValueShard& k = shards.at(node.inputs[1]);
  const ValueShard& v = shards.at(node.inputs[2]);
  for (const ValueShard* s : {&k, &v}) {
    if (s->rank != 3 || s->axis != 2 || s->dim != kv_heads * head_size) return {};
  }
  const ValueShard cache{1, 4, kv_heads, true};
  ShardAdmission a = ShardAdmission::Admit({{node.outputs[0], q->second}}, {0, 1, 2});
  for (size_t slot : {3, 4}) {
    if (!Given(node, slot)) continue;
    if (!PastMayBeSplit(view, shards, node.inputs[slot], kv_heads)) return {};
    a.slots.push_back(static_cast<int>(slot));
    if (!shards.count(node.inputs[slot])) a.outputs.push_back({node.inputs[slot], cache});
  }
  for (size_t slot : {1, 2}) {
    if (slot < node.outputs.size() && node.outputs[slot] != kNoValue) a.outputs.push_back({node.outputs[slot], cache});
  }
  a.attribute_edits.push_back(AttributeEdit{index, "num_heads", heads, false});
  a.attribute_edits.push_back(AttributeEdit{index, "kv_num_heads", kv_heads, true});
  a.unit_divisors.push_back(kv_heads);
  a.q_heads = heads;
  a.kv_heads = kv_heads;
  return a;
}

// MultiHeadAttention with 3-D query/key/value split by heads (every head its own key/value head), the past
// key/value fed split and the present returned split as for GroupQueryAttention. Packed or 4-D inputs, the
// QKV bias (three interleaved parts) and an attention bias per head have no rule.
ShardAdmission MultiHeadAttentionRule(const ShardGraphView& view, const std::map<int, ValueShard>& shards,
                                      int index) {
  const Node& node = view.graph.nodes[static_cast<size_t>(index)];
  const int64_t heads = node.GetInt("num_heads", 0);
  if (heads <= 0 || !Given(node, 1) || !Given(node, 2) || Given(node, 3) || Given(node, 9)) return {};
  if (Given(node, 5) && view.Dim(node.inputs[5], 1) != 1) return {};
  auto q = shards.find(node.inputs[0]);
  if (q == shards.end() || q->second.rank != 3 || q->second.axis != 2 || q->second.dim % heads != 0) return {};
  std::vector<int> missing;
  for (size_t slot : {1, 2}) {
    if (!shards.count(node.inputs[slot])) missing.push_back(node.inputs[slot]);
  }
  if (!missing.empty()) return Needs(missing);
  for (size_t slot : {4, 5, 8}) {
    if (slot < node.inputs.size() && shards.count(node.inputs[slot])) return {};
  }
  for (size_t slot : {1, 2}) {
    const ValueShard& kv = shards.at(node.inputs[slot]);
    if (kv.rank != 3 || kv.axis != 2 || kv.dim % heads != 0) return {};
  }
  const ValueShard cache{1, 4, heads, false};
  ShardAdmission a = ShardAdmission::Admit({{node.outputs[0], q->second}}, {0, 1, 2});
  for (size_t slot : {6, 7}) {
    if (!Given(node, slot)) continue;
    if (!PastMayBeSplit(view, shards, node.inputs[slot], heads)) return {};
    a.slots.push_back(static_cast<int>(slot));
    if (!shards.count(node.inputs[slot])) a.outputs.push_back({node.inputs[slot], cache});
  }
  for (size_t slot : {1, 2}) {
    if (slot < node.outputs.size() && node.outputs[slot] != kNoValue) a.outputs.push_back({node.outputs[slot], cache});
  }
  if (OutputUsed(view, node, 3)) return {};
  a.attribute_edits.push_back(AttributeEdit{index, "num_heads", heads, false});
  a.unit_divisors.push_back(heads);
  return a;
}

}  // namespace

std::optional<ShardAdmission> ContribSeedRule(const ShardGraphView& view, int index) {
  const Node& node = view.graph.nodes[static_cast<size_t>(index)];
  if (node.domain != kMicrosoftDomain || node.HasSubgraphs()) return std::nullopt;
  if (node.op_type == "MatMulNBits") return NBitsSeedRule(view, index);
  return std::nullopt;
}

ShardAdmission ContribAdmitRule(const ShardGraphView& view, const std::map<int, ValueShard>& shards, int index) {
  const Node& node = view.graph.nodes[static_cast<size_t>(index)];
  if (node.domain != kMicrosoftDomain || node.HasSubgraphs() || node.outputs.empty()) return {};
  if (node.op_type == "MatMulNBits") {
    auto a = shards.find(node.inputs.empty() ? kNoValue : node.inputs[0]);
    for (size_t k = 1; k < node.inputs.size(); ++k) {
      if (shards.count(node.inputs[k])) return {};
    }
    return a == shards.end() ? ShardAdmission{} : NBitsExitRule(view, a->second, index);
  }
  if (node.op_type == "RotaryEmbedding") return RotaryRule(view, shards, index);
  if (node.op_type == "GroupQueryAttention") return GroupQueryAttentionRule(view, shards, index);
  if (node.op_type == "MultiHeadAttention") return MultiHeadAttentionRule(view, shards, index);
  return {};
}

}  // namespace tessera
