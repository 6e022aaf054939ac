// Graph optimization passes run between loading and kernel creation (fusions, layout choices).
//
// Each pass rewrites the IR in place and must keep every graph output's value (within float rounding),
// the topological order of nodes, and the names of graph inputs and outputs. Passes only see the
// model's initializers as constants (graph.constants); shape-computing subgraphs are folded later by the
// executor. A pass that does not recognise a pattern exactly leaves it alone.
#pragma once

#include "graph/graph.h"
#include "tessera/status.h"

namespace tessera {

struct GraphPassOptions {
  bool enabled = true;  // SessionOptions::optimize; off gives the plain node-by-node graph (for tests)
  bool bf16 = false;    // SessionOptions::precision == kBFloat16: float products become bfloat16 ones
};

// Runs the pass list (graph_passes.cc) in order.
Status RunGraphPasses(Graph& graph, const GraphPassOptions& options);

}  // namespace tessera
