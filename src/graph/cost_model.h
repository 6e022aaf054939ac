// Static cost estimates per node: FLOPs and bytes, from the shapes that shape inference found.
// Used by `tessera inspect` and, later, by the parallel planners. Unknown shapes count as zero.
#pragma once

#include <cstdint>

#include "graph/graph.h"

namespace tessera {

struct NodeCost {
  double flops = 0;        // multiply-adds count as 2
  double output_bytes = 0;
};

NodeCost EstimateNodeCost(const Graph& graph, const Node& node);

// Sum over the graph (subgraphs not included).
double EstimateGraphFlops(const Graph& graph);

}  // namespace tessera
