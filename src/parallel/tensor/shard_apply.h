// Turning a ShardPlan into one rank's graph: weights replaced by this rank's slices, shape constants of
// head reshapes adjusted, AllReduceSum after every row split and AllGather where a whole value is needed.
#pragma once

#include <cstdint>
#include <set>

#include "graph/graph.h"
#include "parallel/tensor/shard_plan.h"

namespace tessera {

// Rewrites `graph` (the one `plan` was made from) for `rank`; collective nodes get `comm_handle`.
// Originals that no node reads any more are dropped from graph.constants.
Status ApplyShardPlan(Graph& graph, const ShardPlan& plan, int rank, int64_t comm_handle);

// Replaces every constant (and Constant node value) that may point into the loaded model file with its
// own copy, so the parsed model (and its full weights) can be freed once the originals are dropped.
// Constants listed in `own` (made by the rewrite) are left as they are. Returns the bytes copied.
StatusOr<int64_t> DetachConstantsFromModel(Graph& graph, const std::set<int>& own = {});

}  // namespace tessera
