// A LayerNormalization whose float output a per-tensor QuantizeLinear reads becomes one com.tessera
// LayerNormQuantize node with two outputs: the float output, which its other readers keep (in a QDQ
// encoder the residual Add reads it), and the QuantizeLinear's output (kernel:
// src/ops/cpu/quantization/layer_norm_quantize.cc). One pass over the rows instead of two, the second
// over rows still in L1.
//
// Conditions: the LayerNormalization has one output, normalises the last axis (axis -1, or rank - 1 with
// the rank known), X is float32, and Scale (and B when given) are constant float32 vectors of X's last
// dim (when known) values; the QuantizeLinear reads the output as its input and has a constant scalar
// scale and zero point (qdq_match.h). With several such QuantizeLinears the first takes part, the others
// stay. Anything else is left as it is.
#pragma once

#include "graph/graph.h"

namespace tessera {

// Returns the number of LayerNormQuantize nodes made. Node order stays topological.
int FuseLayerNormQuantize(Graph& graph);

}  // namespace tessera
