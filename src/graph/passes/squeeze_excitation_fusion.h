// Squeeze-excitation fusion: after ChooseConvLayouts (conv_fusion.h) a MobileNetV3 / EfficientNet SE block is
//   GlobalAveragePoolChannelsLast(X) -> FusedConv 1x1 [S, C] (squeeze activation) -> FusedConv 1x1 [C, S]
//   (gate activation) -> ChannelScaleChannelsLast(X, gate)
// four nodes, two of them oneDNN convolutions of a 1x1 image. This pass folds each such chain into one
// com.tessera SqueezeExcitationChannelsLast node (graph/layout.h) in the place of the Mul. It requires: X read
// NHWC (not blocked) by the pool, the pool's, the first conv's and the second conv's outputs each read only by
// the next node of the chain and not graph outputs, both convolutions group 1, 1x1 kernels without padding
// and without an addend, float32 constant weights and biases of matching shapes, and activations that
// FusedConv supports (or none). Anything else is left as it was.
#pragma once

#include "graph/graph.h"
#include "tessera/status.h"

namespace tessera {

// Rewrites every matching chain in `graph` (not its subgraphs).
Status FuseSqueezeExcitation(Graph& graph);

}  // namespace tessera
