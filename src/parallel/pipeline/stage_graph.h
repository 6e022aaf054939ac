// A pipeline stage as a graph of its own: the rewrite that turns a loaded model into one stage.
//
// The stage keeps only its nodes (PipelineStage::nodes), takes the values it receives as graph inputs
// and returns the values it sends on (and the model outputs it delivers) as graph outputs. Every
// constant it does not read is dropped, and the ones it keeps are copied out of the parsed model file,
// so that once the file's parse is released a rank holds only its stage's weights.
#pragma once

#include "parallel/pipeline/pipeline_partition.h"
#include "runtime/session_factory.h"

namespace tessera {

// `stage` must come from a partition of this same graph. Fails (InvalidArgument) when it does not fit
// (a node index past the end), or ResourceExhausted when a weight cannot be copied.
Status ExtractPipelineStage(Graph& graph, const PipelineStage& stage);

}  // namespace tessera
