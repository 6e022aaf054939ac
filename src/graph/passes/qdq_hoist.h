// Moving QuantizeLinear above pure data movement, so that the product before it can write int8.
//
// HoistQuantizeAboveDataMovement rewrites
//   v -> Reshape | Transpose | Flatten | Squeeze | Unsqueeze (one or more) -> QuantizeLinear(s, zp) -> y
// into
//   v -> QuantizeLinear(s, zp) -> y -> the same data movement -> (what read y now reads its last value)
// for a per-tensor QuantizeLinear (a constant scalar scale and zero point): quantizing each element
// commutes with moving it, so the result is the same codes, and the moves then carry 1-byte elements.
// An encoder's Q/K/V projections (MatMul -> bias Add -> Reshape -> Transpose -> Q) and its attention
// context (MatMul -> Transpose -> Reshape -> Q) then end in the QuantizeLinear FuseQdq folds into them.
// Conditions: each value of the chain after v is read by the next node of the chain and otherwise only
// by Shape nodes (their answer does not change), is not a graph output, and the moves read it as their
// data input; y is not a graph output and no subgraph reads it. Shape nodes reading v read y instead
// (same shape), which leaves the QuantizeLinear v's only other reader where v had none. Declared
// dtypes and y's shape follow. Node order is left for the caller to re-sort.
#pragma once

#include "graph/graph.h"

namespace tessera {

// Returns the number of QuantizeLinear nodes moved.
int HoistQuantizeAboveDataMovement(Graph& graph);

}  // namespace tessera
