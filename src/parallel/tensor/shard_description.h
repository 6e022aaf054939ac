// What a tensor-parallel split of a model does, for `tessera plan` and the rewrite's log: which blocks
// run on shards, how many weight bytes each rank holds, and what the collectives move per inference.
//
// Pure: computed from the loaded graph and the group size, with no communicator, so `plan` can print it
// before any rank starts. The numbers are those of the rewrite the same graph and options would get
// (MakeTensorParallelRewrite): both come from PlanTensorShards.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "parallel/tensor/shard_plan.h"

namespace tessera {

// One block of the graph that runs on shards.
struct ShardedBlock {
  // "all-reduce": weights split by output columns, then by input rows, one all-reduce at the end
  // (MLP and attention blocks); "all-gather": split by output features or channels and gathered.
  std::string kind;
  std::vector<std::string> split_nodes;  // nodes whose weights are sliced (column splits, then row splits)
  int64_t units = 0;                     // heads, features or channels divided over the ranks
  std::vector<int64_t> units_per_rank;   // EvenSplit(units, tp): rank 0 first
  int64_t collective_bytes = 0;          // full size of the tensors its collectives produce, per inference
  bool collective_bytes_known = true;    // false when an activation dim is not known (symbolic, not given)
};

struct TensorParallelDescription {
  int tp_size = 1;
  std::vector<ShardedBlock> blocks;
  int64_t total_weight_bytes = 0;              // every constant of the model as written
  int64_t sharded_weight_bytes = 0;            // the part of it that gets sliced
  std::vector<int64_t> weight_bytes_per_rank;  // constants each rank holds after the split
  int64_t all_reduce_count = 0;                // collectives per inference
  int64_t all_gather_count = 0;
  int64_t all_reduce_bytes = 0;                // summed full tensor sizes per inference
  int64_t all_gather_bytes = 0;
  bool collective_bytes_known = true;          // false when some block's size is a lower bound

  // Human-readable lines: a header with the totals, then one line per block.
  std::string Summary() const;
};

// `dim_values` gives symbolic dims ("batch", "sequence") a size for the byte counts; a symbol without
// one counts as 1 and clears collective_bytes_known. Fails as PlanTensorShards does (e.g. more ranks
// than a split block has heads or channels).
StatusOr<TensorParallelDescription> DescribeTensorParallel(const Graph& graph, int tp_size,
                                                           const std::map<std::string, int64_t>& dim_values = {},
                                                           const TensorParallelOptions& options = {});

}  // namespace tessera
