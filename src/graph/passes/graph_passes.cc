// The pass list: one line per pass, in the order they run.
#include "graph/passes/graph_passes.h"

#include "graph/passes/transformer_fusion.h"

namespace tessera {

Status RunGraphPasses(Graph& graph, const GraphPassOptions& options) {
  if (!options.enabled) return Status::Ok();
  TS_RETURN_IF_ERROR(FuseMatMulBiasActivation(graph));
  return Status::Ok();
}

}  // namespace tessera
