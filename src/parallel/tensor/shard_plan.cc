// PlanTensorShards: seeds, forward growth of each block over the ops with a shard rule, and the choice
// of which blocks to split (see the header).
#include "parallel/tensor/shard_plan.h"

#include <algorithm>
#include <deque>
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

namespace {

// Grows one block from its first seed.
class RegionBuilder {
 public:
  RegionBuilder(const ShardGraphView& view, const std::vector<int>& owner, const std::set<int>& tried)
      : view_(view), owner_(owner), tried_(tried) {}

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
  int64_t sliced_bytes() const { return sliced_bytes_; }

 private:
  bool Available(int node) const {
    return owner_[static_cast<size_t>(node)] < 0 && !in_region_.count(node);
  }

  // Admits `node` when its rule allows; returns the values it needs sharded first, if any.
  std::vector<int> Consider(int node) {
    if (!Available(node)) return {};
    ShardAdmission a = AdmitRule(view_, region_.values, node);
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
  }

  // Walks back from `value` along data inputs to a node that can seed this block.
  bool PullSeed(int value) {
    int current = value;
    for (int depth = 0; depth < 8 && current != kNoValue; ++depth) {
      if (region_.values.count(current)) return false;
      const int producer = view_.producer[static_cast<size_t>(current)];
      if (producer < 0 || !Available(producer)) return false;
      if (AddSeed(producer)) return true;
      current = DataInput(view_, producer);
    }
    return false;
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
      if (whole) region_.gathered.push_back(value);
    }
    for (int64_t d : region_.unit_divisors) units = std::gcd(units, d);
    region_.units = units;
  }

  const ShardGraphView& view_;
  const std::vector<int>& owner_;
  const std::set<int>& tried_;
  ShardRegion region_;
  std::set<int> in_region_;
  std::set<int> deferred_;
  std::deque<int> work_;
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
    if (auto it = graph.value_ids.find(name); it != graph.value_ids.end()) view.sharded_io[static_cast<size_t>(it->second)] = true;
  }
  std::vector<int> owner(graph.nodes.size(), -1);
  std::set<int> tried;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const int node = static_cast<int>(i);
    if (owner[i] >= 0 || tried.count(node)) continue;
    RegionBuilder builder(view, owner, tried);
    if (!builder.AddSeed(node)) continue;
    builder.Grow();
    ShardRegion& region = builder.region();
    const bool worth_it = !region.exits.empty() || builder.sliced_bytes() >= options.min_gather_weight_bytes;
    if (!worth_it) {
      tried.insert(region.seeds.begin(), region.seeds.end());
      continue;
    }
    if (region.units < tp_size) return InvalidArgument(UnitsError(graph, region, tp_size));
    for (int n : region.nodes) owner[static_cast<size_t>(n)] = static_cast<int>(plan.regions.size());
    plan.regions.push_back(std::move(region));
  }
  return plan;
}

}  // namespace tessera
