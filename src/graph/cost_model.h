// Static cost estimates per node: FLOPs and bytes, from the shapes that shape inference found.
// Used by `tessera inspect` and by the pipeline partitioner (parallel/pipeline/pipeline_partition.h).
//
// By default a value whose shape is not fully known counts as zero elements, which is right for a
// report ("unknown") but useless for balancing a model declared with a symbolic batch: every node
// would cost nothing. Planners therefore pass CostOptions::unknown_dim, the size assumed for each dim
// that is symbolic or unknown (1: the cost per sample, which scales every node alike).
#pragma once

#include <cstdint>
#include <vector>

#include "graph/graph.h"

namespace tessera {

struct CostOptions {
  double unknown_dim = 0;  // size assumed for a dim that is symbolic or unknown; 0 makes the value cost 0
  // Estimated elements per value id (EstimateValueElements), used for values whose rank shape inference
  // did not find (models that compute their Reshape targets at run time lose every shape after the
  // first such Reshape). Null: such values count as zero.
  const std::vector<double>* value_elements = nullptr;
};

struct NodeCost {
  double flops = 0;        // multiply-adds count as 2
  double output_bytes = 0;  // all outputs together
};

NodeCost EstimateNodeCost(const Graph& graph, const Node& node, const CostOptions& options = {});

// Bytes of value `id` (0 when its rank or dtype is unknown; strings count 8 bytes per element).
double EstimateValueBytes(const Graph& graph, int id, const CostOptions& options = {});

// Elements of every value (indexed by id): the known shape (unknown dims at `options.unknown_dim`), the
// constant's own size, or else a guess carried forward from the producer's inputs: most ops keep their
// largest input's element count; MatMul/Gemm by a constant [K, N] weight scale it by N/K; Gather from a
// constant table gives indices x row size. Good enough to weigh transformer layers against each other.
std::vector<double> EstimateValueElements(const Graph& graph, const CostOptions& options);

// Sum over the graph (subgraphs not included).
double EstimateGraphFlops(const Graph& graph, const CostOptions& options = {});

}  // namespace tessera
