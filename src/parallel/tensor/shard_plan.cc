// PlanTensorShards: seeds, forward growth of each block over the ops with a shard rule, and the choice
// of which blocks to split (see the header).
#include "parallel/tensor/shard_plan.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <numeric>
#include <set>

#include "core/tensor_slicing.h"
#include "parallel/tensor/shard_rules.h"

namespace tessera {

ShardRange ShardOfAxis(int64_t dim, int64_t units, int tp_size, int rank) {
  const std::vector<int64_t> split = EvenSplit(units, tp_size);
  int64_t first = 0;
  for (int r = 0; r < rank; ++r) first += split[static_cast<size_t>(r)];
  const int64_t per_unit = units > 0 ? dim / units : 0;
  return {first * per_unit, (first + split[static_cast<size_t>(rank)]) * per_unit};
}

ShardRange RegionShardOfAxis(const ShardRegion& region, int64_t dim, bool kv, int tp_size, int rank) {
  if (!region.kv_replicated) return ShardOfAxis(dim, region.units, tp_size, rank);
  const std::vector<int64_t> group_ranks = EvenSplit(tp_size, region.kv_heads);
  int64_t group = 0, first = 0;  // the rank's group and the group's first rank
  while (rank >= first + group_ranks[static_cast<size_t>(group)]) first += group_ranks[static_cast<size_t>(group++)];
  if (kv) {
    const int64_t per_head = dim / region.kv_heads;
    return {group * per_head, (group + 1) * per_head};
  }
  const int64_t per_head = dim / region.q_heads;
  const int64_t group_heads = region.q_heads / region.kv_heads;
  const std::vector<int64_t> split = EvenSplit(group_heads, group_ranks[static_cast<size_t>(group)]);
  int64_t begin = group * group_heads;
  for (int64_t j = 0; j < rank - first; ++j) begin += split[static_cast<size_t>(j)];
  return {begin * per_head, (begin + split[static_cast<size_t>(rank - first)]) * per_head};
}

namespace {

// Grows one block from its first seed.
class RegionBuilder {
 public:
  // `local_shapes`: whether rank-local shape values may join the block (ShardRegion::local_shapes).
  RegionBuilder(const ShardGraphView& view, const std::vector<int>& owner, const std::set<int>& tried,
                bool local_shapes)
      : view_(view), owner_(owner), tried_(tried), allow_local_shapes_(local_shapes) {}

  bool AddSeed(int node) {
    if (!Available(node) || tried_.count(node)) return false;
    auto seed = SeedRule(view_, node);
    if (!seed) return false;
    Admit(node, *seed);
    region_.seeds.push_back(node);
    return true;
  }

  void Grow() {
    for (;;) {
      while (!work_.empty()) {
        const int v = work_.front();
        work_.pop_front();
        for (const auto& [node, slot] : view_.readers[static_cast<size_t>(v)]) {
          if (!in_region_.count(node)) Consider(node);
        }
      }
      bool progress = false;
      const std::set<int> deferred = deferred_;
      for (int node : deferred) {
        if (in_region_.count(node)) continue;
        std::vector<int> need = Consider(node);
        for (int value : need) progress |= PullSeed(value);
      }
      progress |= !work_.empty();
      if (!progress) break;
    }
    Finish();
  }

  ShardRegion& region() { return region_; }
  // False when a rank-local shape value or a split graph input is read outside the block: the block must
  // then be planned again without rank-local shapes.
  bool consistent() const { return consistent_; }
  int64_t sliced_bytes() const { return sliced_bytes_; }

 private:
  bool Available(int node) const {
    return owner_[static_cast<size_t>(node)] < 0 && !in_region_.count(node);
  }

  // Admits `node` when its rule allows; returns the values it needs sharded first, if any.
  std::vector<int> Consider(int node) {
    if (!Available(node)) return {};
    ShardAdmission a = AdmitRule(view_, region_.values, node, region_.local_shapes);
    if (a.verdict == ShardAdmission::kAdmit && !allow_local_shapes_ && !a.local_outputs.empty()) return {};
    if (a.verdict == ShardAdmission::kAdmit) {
      deferred_.erase(node);
      Admit(node, a);
      return {};
    }
    if (a.verdict == ShardAdmission::kNeed) {
      deferred_.insert(node);
      return a.need;
    }
    return {};
  }

  void Admit(int node, const ShardAdmission& a) {
    in_region_.insert(node);
    region_.nodes.push_back(node);
    region_.shard_readers[node] = a.slots;
    for (const ConstantSlice& s : a.slices) {
      region_.slices.push_back(s);
      const int value = view_.graph.nodes[static_cast<size_t>(s.node)].inputs[static_cast<size_t>(s.input)];
      sliced_bytes_ += static_cast<int64_t>(view_.graph.constants.at(value).byte_size());
    }
    for (const ShapeEdit& e : a.edits) region_.shape_edits.push_back(e);
    for (const AttributeEdit& e : a.attribute_edits) region_.attribute_edits.push_back(e);
    for (int64_t d : a.unit_divisors) region_.unit_divisors.push_back(d);
    if (a.repeats_kv) {
      if (region_.kv_heads == 0 || (region_.q_heads == a.q_heads && region_.kv_heads == a.kv_heads)) {
        region_.q_heads = a.q_heads;
        region_.kv_heads = a.kv_heads;
        repeat_nodes_.push_back(node);
      } else {
        region_.kv_heads = -1;
      }
    } else if (a.kv_heads > 0) {
      // Several attention nodes in one block must agree to be split by groups (see MarkKeyValueChains).
      if (region_.kv_heads == 0 || (region_.q_heads == a.q_heads && region_.kv_heads == a.kv_heads)) {
        region_.q_heads = a.q_heads;
        region_.kv_heads = a.kv_heads;
        attention_nodes_.push_back(node);
      } else {
        region_.kv_heads = -1;
      }
    }
    if (a.exit) {
      region_.exits.push_back(*a.exit);
      if (a.exit->bias_add >= 0) {
        in_region_.insert(a.exit->bias_add);
        region_.nodes.push_back(a.exit->bias_add);
      }
    }
    for (const auto& [value, shard] : a.outputs) {
      region_.values[value] = shard;
      work_.push_back(value);
    }
    for (int value : a.local_outputs) {
      region_.local_shapes.insert(value);
      work_.push_back(value);
    }
  }

  // Walks back from `value` to a node that can seed this block: along data inputs, and through the
  // several inputs of the ops that rotary embeddings and key/value caches are written with (the query of
  // Q x K^T comes from an Add of two rotary halves, the keys from a Concat of the past and the new ones).
  bool PullSeed(int value) {
    static const std::set<std::string> branching = {"Add", "Sub", "Mul", "Concat", "Where"};
    std::deque<std::pair<int, int>> todo = {{value, 0}};
    std::set<int> seen;
    bool pulled = false;
    while (!todo.empty()) {
      const auto [current, depth] = todo.front();
      todo.pop_front();
      if (current == kNoValue || depth > 16 || !seen.insert(current).second || region_.values.count(current)) continue;
      const int producer = view_.producer[static_cast<size_t>(current)];
      if (producer < 0 || !Available(producer)) continue;
      if (AddSeed(producer)) {
        pulled = true;
        continue;
      }
      const Node& node = view_.graph.nodes[static_cast<size_t>(producer)];
      if (branching.count(node.op_type) && (node.domain.empty() || node.domain == "ai.onnx")) {
        for (int input : node.inputs) {
          if (input != kNoValue && view_.Constant(input) == nullptr) todo.push_back({input, depth + 1});
        }
      } else if (node.op_type == "Expand" || node.op_type == "Unsqueeze" || node.op_type == "Slice") {
        todo.push_back({node.inputs[0], depth + 1});  // the data; the rest are shapes and indices
      } else if (node.op_type != "Shape" && node.op_type != "Gather") {
        todo.push_back({DataInput(view_, producer), depth + 1});
      }
    }
    return pulled;
  }

  void Finish() {
    int64_t units = 0;
    for (const auto& [value, shard] : region_.values) {
      units = std::gcd(units, shard.dim);
      bool whole = view_.is_output[static_cast<size_t>(value)] && !view_.sharded_io[static_cast<size_t>(value)];
      for (const auto& [node, slot] : view_.readers[static_cast<size_t>(value)]) {
        auto it = region_.shard_readers.find(node);
        if (it == region_.shard_readers.end()) {
          whole = true;
        } else {
          const auto& slots = it->second;
          whole |= std::find(slots.begin(), slots.end(), slot) == slots.end();
        }
      }
      // A split graph input cannot be gathered, nor can a fused projection's parts (they would interleave).
      if (whole && (view_.producer[static_cast<size_t>(value)] < 0 || shard.groups > 1)) consistent_ = false;
      if (whole) region_.gathered.push_back(value);
    }
    for (int value : region_.local_shapes) {
      if (view_.is_output[static_cast<size_t>(value)]) consistent_ = false;
      for (const auto& [node, slot] : view_.readers[static_cast<size_t>(value)]) {
        if (!in_region_.count(node)) consistent_ = false;
      }
    }
    for (int64_t d : region_.unit_divisors) units = std::gcd(units, d);
    region_.units = units;
    MarkKeyValueChains();
  }

  // Marks what carries key/value heads: the attention nodes' K and V inputs back to their projections
  // (through RotaryEmbedding), those projections' slices and head-count edits, and the caches (marked by
  // the attention rule). Only a block split by groups reads the marks.
  void MarkKeyValueChains() {
    std::set<int> kv_nodes;
    for (int attention : attention_nodes_) {
      const Node& node = view_.graph.nodes[static_cast<size_t>(attention)];
      for (size_t slot : {1, 2}) {
        int value = node.inputs[slot];
        for (int depth = 0; depth < 4 && region_.values.count(value); ++depth) {
          region_.values[value].kv = true;
          const int producer = view_.producer[static_cast<size_t>(value)];
          if (producer < 0 || !in_region_.count(producer)) break;
          kv_nodes.insert(producer);
          if (view_.graph.nodes[static_cast<size_t>(producer)].op_type != "RotaryEmbedding") break;
          value = view_.graph.nodes[static_cast<size_t>(producer)].inputs[0];
        }
      }
    }
    // Plain-op GQA: everything the repeat's input is computed from in the block (the key/value
    // projections, their head reshapes and rotary halves, the past and present caches).
    for (int repeat : repeat_nodes_) {
      std::deque<int> todo = {view_.graph.nodes[static_cast<size_t>(repeat)].inputs[0]};
      while (!todo.empty()) {
        const int value = todo.front();
        todo.pop_front();
        auto it = region_.values.find(value);
        if (it == region_.values.end() || it->second.kv) continue;
        it->second.kv = true;
        const int producer = view_.producer[static_cast<size_t>(value)];
        if (producer < 0 || !in_region_.count(producer)) continue;
        kv_nodes.insert(producer);
        for (int input : view_.graph.nodes[static_cast<size_t>(producer)].inputs) todo.push_back(input);
      }
    }
    for (ConstantSlice& s : region_.slices) s.kv |= kv_nodes.count(s.node) > 0;
    for (ShapeEdit& e : region_.shape_edits) e.kv |= kv_nodes.count(e.node) > 0;
    for (AttributeEdit& e : region_.attribute_edits) e.kv |= kv_nodes.count(e.node) > 0;
  }

  const ShardGraphView& view_;
  const std::vector<int>& owner_;
  const std::set<int>& tried_;
  ShardRegion region_;
  std::set<int> in_region_;
  std::set<int> deferred_;
  std::deque<int> work_;
  std::vector<int> attention_nodes_;
  std::vector<int> repeat_nodes_;
  const bool allow_local_shapes_;
  bool consistent_ = true;
  int64_t sliced_bytes_ = 0;
};

std::string UnitsError(const Graph& graph, const ShardRegion& region, int tp_size) {
  const Node& seed = graph.nodes[static_cast<size_t>(region.seeds.front())];
  return seed.Describe() + ": cannot split over " + std::to_string(tp_size) + " ranks: its block has only " +
         std::to_string(region.units) + " heads/features/channels to divide (use a smaller --tp)";
}

}  // namespace

StatusOr<ShardPlan> PlanTensorShards(const Graph& graph, int tp_size, const TensorParallelOptions& options) {
  if (tp_size < 1) return InvalidArgument("tensor-parallel group size must be at least 1");
  ShardPlan plan;
  plan.tp_size = tp_size;
  if (tp_size == 1) return plan;
  ShardGraphView view(graph);
  for (const std::string& name : options.sharded_io) {
    auto it = graph.value_ids.find(name);
    if (it != graph.value_ids.end()) view.sharded_io[static_cast<size_t>(it->second)] = true;
  }
  std::vector<int> owner(graph.nodes.size(), -1);
  std::set<int> tried;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const int node = static_cast<int>(i);
    if (owner[i] >= 0 || tried.count(node)) continue;
    auto builder = std::make_unique<RegionBuilder>(view, owner, tried, true);
    if (!builder->AddSeed(node)) continue;
    builder->Grow();
    if (!builder->consistent()) {
      builder = std::make_unique<RegionBuilder>(view, owner, tried, false);
      builder->AddSeed(node);
      builder->Grow();
    }
    if (!builder->consistent()) {  // a split graph input also read whole: keep this block replicated
      tried.insert(builder->region().seeds.begin(), builder->region().seeds.end());
      continue;
    }
    ShardRegion& region = builder->region();
    const bool worth_it = !region.exits.empty() || builder->sliced_bytes() >= options.min_gather_weight_bytes;
    if (!worth_it) {
      tried.insert(region.seeds.begin(), region.seeds.end());
      continue;
    }
    if (region.units < tp_size && region.kv_heads > 0 && region.kv_heads < tp_size &&
        region.q_heads / region.kv_heads >= (tp_size + region.kv_heads - 1) / region.kv_heads) {
      // More ranks than key/value heads: split the query heads, replicate each key/value head in its group.
      region.kv_replicated = true;
      for (const ConstantSlice& slice : region.slices) {
        // Every slice must cut between heads: a quantized weight's blocks must not straddle two heads.
        if (slice.dim % (slice.kv ? region.kv_heads : region.q_heads) != 0) {
          return InvalidArgument(graph.nodes[static_cast<size_t>(slice.node)].Describe() + ": cannot split over " +
                                 std::to_string(tp_size) + " ranks: with more ranks than its " +
                                 std::to_string(region.kv_heads) + " key/value heads the block is split by query "
                                 "heads, and a head is not a whole number of its quantization blocks (use --tp " +
                                 std::to_string(region.kv_heads) + " or fewer)");
        }
      }
    } else if (region.units < tp_size) {
      return InvalidArgument(UnitsError(graph, region, tp_size));
    }
    for (int n : region.nodes) owner[static_cast<size_t>(n)] = static_cast<int>(plan.regions.size());
    plan.regions.push_back(std::move(region));
  }
  return plan;
}

}  // namespace tessera
