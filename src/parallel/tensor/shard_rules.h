// The per-op rules of tensor-parallel planning: which nodes can seed a block (column split), and how a
// node reading sharded values runs on shards (or why it cannot). Used by PlanTensorShards.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "graph/graph.h"
#include "parallel/tensor/shard_plan.h"

namespace tessera {

// Readers and producers of every value of one graph, computed once.
struct ShardGraphView {
  explicit ShardGraphView(const Graph& graph);

  const Graph& graph;
  std::vector<std::vector<std::pair<int, int>>> readers;  // per value: (node, input slot)
  std::vector<int> producer;                              // per value: node index or -1
  std::vector<bool> is_output;
  std::vector<bool> sharded_io;  // per value: named in TensorParallelOptions::sharded_io (set by the planner)
  std::vector<int> ranks;  // per value: from its info, else propagated through common ops; -1 unknown

  // An initializer (graph.constants) or the value of a Constant node; nullptr otherwise.
  const Tensor* Constant(int value) const;
  // Rank from a constant, the value's info or the propagated ranks; -1 when unknown.
  int Rank(int value) const;
  // Size of dim `i` from a constant or the value's info; -1 when unknown.
  int64_t Dim(int value, int i) const;

 private:
  void PropagateRanks();
  int ReducedRank(const Node& node, int in) const;
};

// What a rule decided for one node.
struct ShardAdmission {
  enum Verdict { kReject, kAdmit, kNeed };
  Verdict verdict = kReject;
  std::vector<std::pair<int, ValueShard>> outputs;  // outputs that are shards
  std::vector<int> slots;                           // input slots that read shards
  std::vector<ConstantSlice> slices;
  std::vector<ShapeEdit> edits;
  std::vector<AttributeEdit> attribute_edits;
  std::vector<int64_t> unit_divisors;
  int64_t q_heads = 0, kv_heads = 0;  // a grouped-query attention node's heads (ShardRegion::q_heads)
  // A Reshape that merges repeated key/value heads into query heads (plain-op GQA): its data input's
  // chain back to the projections carries key/value heads.
  bool repeats_kv = false;
  std::vector<int> local_outputs;  // outputs that are rank-local shape values (ShardRegion::local_shapes)
  std::optional<ShardExit> exit;
  std::vector<int> need;  // kNeed: values that must be shards too (pulled in as seeds)

  // An admission with these shard outputs and shard-reading input slots (the start of most rules).
  static ShardAdmission Admit(std::vector<std::pair<int, ValueShard>> outputs, std::vector<int> slots) {
    ShardAdmission a;
    a.verdict = kAdmit;
    a.outputs = std::move(outputs);
    a.slots = std::move(slots);
    return a;
  }
};

// A column split of `node` (MatMul/Gemm/Conv with a constant weight), or nothing.
std::optional<ShardAdmission> SeedRule(const ShardGraphView& view, int node);

// How `node` runs given the values already sharded in its block and its rank-local shape values.
ShardAdmission AdmitRule(const ShardGraphView& view, const std::map<int, ValueShard>& shards, int node,
                         const std::set<int>& local_shapes = {});

// The rules for the ops plain-op attention is written in (plain_attention_shard_rules.cc): Slice off the
// split axis, Concat of shards (a past key/value input named in sharded_io joins split), Unsqueeze,
// Expand and Where over shards, and the integer ops computing rank-local shapes. Reject when none applies.
ShardAdmission PlainAttentionRule(const ShardGraphView& view, const std::map<int, ValueShard>& shards, int node,
                                  const std::set<int>& local_shapes);

// One element of a shape vector as the whole model computes it: its value when known statically, and
// whether on a shard it is this rank's own (derived from a shard's size on its split axis).
struct ShapeElement {
  std::optional<int64_t> full;
  bool local = false;
};
// The elements of the 1-D (or scalar) integer value `value` (a Reshape's or Expand's shape), evaluated
// through Shape, Gather, Unsqueeze, Concat, Cast, arithmetic, Equal, Where and ConstantOfShape with the
// sizes of `shards` on their split axes; nothing when it cannot be followed.
std::optional<std::vector<ShapeElement>> EvaluateShapeElements(const ShardGraphView& view,
                                                               const std::map<int, ValueShard>& shards, int value);

// The rules of com.microsoft ops (contrib_shard_rules.cc): MatMulNBits seeds and row splits,
// RotaryEmbedding and GroupQueryAttention on head shards.
std::optional<ShardAdmission> ContribSeedRule(const ShardGraphView& view, int node);
ShardAdmission ContribAdmitRule(const ShardGraphView& view, const std::map<int, ValueShard>& shards, int node);

// The input a value flows through `node` from (Reshape's data, the one non-constant input of an
// elementwise op), or kNoValue.
int DataInput(const ShardGraphView& view, int node);

// Elements of the shape a Reshape reads: known values, or nullopt where computed at run time. Nothing
// when the shape is neither a constant nor a Concat of constants and run-time pieces of known length.
std::optional<std::vector<std::optional<int64_t>>> ReshapeTarget(const ShardGraphView& view, int shape_value);

}  // namespace tessera
