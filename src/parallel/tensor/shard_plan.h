// Which parts of a graph run on shards under tensor parallelism, and how (pure analysis, no rewriting).
//
// A block (ShardRegion) starts at "seeds": MatMul/Gemm/Conv nodes with a constant weight, split by output
// columns or channels. The split then follows the sharded values forward through ops that work on a
// shard as they do on the whole (elementwise ops, bias adds, Transpose, Softmax off the split axis,
// per-channel BatchNormalization and pools, per-head MatMuls, Reshapes that split features into heads or
// merge heads back). It ends at "exits" — MatMul/Gemm with a constant weight reading the split axis as
// their inner dimension, split by input rows and followed by one all-reduce — or, where a value is needed
// whole (an op without a rule, a graph output), at an all-gather. An op reading two values (Q x K^T)
// pulls the other one's seed into the block, so Q, K and V projections end up in one block.
//
// Every sharded value's split axis is a multiple of the block's `units` (the gcd of those axes: heads
// for attention, features for an MLP, channels for a Conv); rank r holds units EvenSplit(units, tp)[r].
// A block with at least one exit is always split; one that only gathers is split when its seeds' weights
// reach TensorParallelOptions::min_gather_weight_bytes (gathering small layers costs more than it saves).
// Everything else stays replicated, which is always correct.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace tessera {

struct TensorParallelOptions {
  // Column splits closed by an all-gather are worth it only for large weights; 256 KiB keeps ResNet-50's
  // early 1x1/3x3 convolutions (<= 147 KiB) whole and splits every later one and the classifier.
  int64_t min_gather_weight_bytes = int64_t{256} << 10;
  // Graph inputs and outputs that each rank feeds and returns as its own shard: a decoder's KV cache
  // (generate/ names it), so the cache lives with its heads. An op rule may take such an input split
  // (GroupQueryAttention's past key/value on the heads axis), and such an output is returned split
  // instead of gathered. Values not named here are always whole at the graph's boundary.
  std::set<std::string> sharded_io;
};

// How one value is split: along `axis` (of `rank` dims), whose full size is `dim`.
// `kv`: the axis counts key/value heads of an attention block (see ShardRegion::kv_heads).
// `groups` > 1: the axis holds that many parts of `dim` each side by side (a fused QKV projection, as
// GPT-2 writes it, before its Split), and a shard holds its slice of every part, the parts still side
// by side; only the bias Add and the Split into the parts take such a value.
struct ValueShard {
  int axis = 0;
  int rank = 0;
  int64_t dim = 0;
  bool kv = false;
  int64_t groups = 1;
};

// A constant input of a node sliced along `axis` (full size `dim`, a multiple of the block's units).
// `view`, when not empty, is the shape the constant is read as before slicing (MatMulNBits keeps its
// scales [N, blocks] flat as [N * blocks]); the slice is then flattened back to the constant's rank.
struct ConstantSlice {
  int node = 0;   // index into graph.nodes
  int input = 0;  // input slot
  int axis = 0;
  int64_t dim = 0;
  Shape view;
  bool kv = false;  // sliced by key/value heads (ShardRegion::kv_heads)
};

// Integer attribute `name` of a node counts heads or features of the split axis (`full` in the model):
// on a shard it becomes full / units * (this rank's units), as a ShapeEdit does for a shape element.
struct AttributeEdit {
  int node = 0;
  std::string name;
  int64_t full = 0;
  bool kv = false;  // counts key/value heads (ShardRegion::kv_heads)
};

// Element `element` of the shape a Reshape node reads is `full` in the model; on a shard it becomes
// full / units * (this rank's units).
struct ShapeEdit {
  int node = 0;
  int element = 0;
  int64_t full = 0;
  bool kv = false;  // counts key/value heads (ShardRegion::kv_heads)
};

// A row-split node whose output is a partial sum. `bias_add` is the Add node (or -1) that follows it
// with a constant: it stays on rank 0 only, so the bias is counted once by the all-reduce after it.
struct ShardExit {
  int node = 0;
  int bias_add = -1;
};

struct ShardRegion {
  std::vector<int> seeds;                 // column-split nodes, in the order they joined
  std::vector<ShardExit> exits;           // row-split nodes
  std::vector<int> nodes;                 // every node that runs on shards (seeds and exits included)
  std::map<int, ValueShard> values;       // sharded values by id
  std::map<int, std::vector<int>> shard_readers;  // node index -> input slots that read a shard
  std::vector<ConstantSlice> slices;
  std::vector<ShapeEdit> shape_edits;
  std::vector<AttributeEdit> attribute_edits;
  std::vector<int> gathered;              // sharded values something outside the block needs whole
  // Rank-local shape values: integers computed from this rank's shard sizes (Shape of a shard read on its
  // split axis, and the arithmetic on it), which plain-op attention feeds to the Reshape and Expand nodes
  // of its block (the key/value repeat of GQA). They need no rewrite: every rank computes its own. The
  // planner keeps a block with such values only when all their readers run on shards in it.
  std::set<int> local_shapes;
  int64_t units = 0;
  // Counts the units must divide besides the split axes (a MatMulNBits row split cuts K only between
  // quantization blocks: its K / block_size blocks).
  std::vector<int64_t> unit_divisors;
  // Grouped-query attention blocks: their query and key/value heads (0 elsewhere). With more ranks than
  // key/value heads the block is split by query heads and each key/value head is replicated on the ranks
  // of its group (`kv_replicated`): the ranks form kv_heads groups (EvenSplit(tp, kv_heads) ranks each),
  // a group's ranks share its key/value head and divide its query heads, and values, slices and edits
  // marked `kv` take the group's key/value head.
  int64_t q_heads = 0;
  int64_t kv_heads = 0;
  bool kv_replicated = false;
};

struct ShardPlan {
  int tp_size = 1;
  std::vector<ShardRegion> regions;
};

// Plans the split of `graph` over `tp_size` ranks. Fails (InvalidArgument naming the node) when a block
// that would be split has fewer units than ranks. Subgraphs (If/Loop bodies) are left alone.
StatusOr<ShardPlan> PlanTensorShards(const Graph& graph, int tp_size, const TensorParallelOptions& options = {});

// [begin, end) of rank `rank`'s units, then scaled: the rows of an axis of size `dim` it holds.
struct ShardRange {
  int64_t begin = 0;
  int64_t end = 0;
};
ShardRange ShardOfAxis(int64_t dim, int64_t units, int tp_size, int rank);

// The same for an axis of `region` (kv: one counting key/value heads): ShardOfAxis over the region's
// units, or for a kv_replicated region the rank's query heads or its group's key/value head.
ShardRange RegionShardOfAxis(const ShardRegion& region, int64_t dim, bool kv, int tp_size, int rank);

}  // namespace tessera
