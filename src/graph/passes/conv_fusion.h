// Conv fusion: folds the elementwise tail of a float32 Conv into one com.tessera FusedConv node.
//
// Patterns (the Conv's output must have exactly one consumer and must not be a graph output; the same
// holds for an Add's output that a Relu/Clip follows):
//   Conv -> Relu                    FusedConv(X, W, B)            activation "Relu"
//   Conv -> Clip(constant bounds)   FusedConv(X, W, B)            activation "Clip", activation_min/max
//   Conv -> Add(Z) [-> Relu|Clip]   FusedConv(X, W, B, Z)         Z summed into the result before the
//                                                                 activation; Z must have exactly the
//                                                                 Conv output's static shape (no broadcast)
// FusedConv keeps the Conv's attributes and takes the place of the last node of the pattern, so the node
// list stays topologically ordered. Its kernel lives with Conv (ops/cpu/conv.cc).
#pragma once

#include "graph/graph.h"
#include "tessera/status.h"

namespace tessera {

constexpr char kTesseraDomain[] = "com.tessera";
constexpr int kTesseraOpset = 1;

// Rewrites every matching pattern in `graph` (not its subgraphs).
Status FuseConvActivations(Graph& graph);

}  // namespace tessera
