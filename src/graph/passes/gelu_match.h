// The erf form of GELU as PyTorch exports it, matched by the fusion passes that fold it into a product
// (transformer_fusion for float32 dense layers, qdq_fusion for int8 ones):
//   Div(x, sqrt(2)) -> Erf -> Add(_, 1) -> Mul(x, _) -> Mul(_, 0.5)   (or Mul(x, 0.5) -> Mul(_, erf part))
// with Mul(x, 1/sqrt(2)) for the Div. Every intermediate value must have its one reader in the chain.
#pragma once

#include <vector>

#include "graph/passes/pattern_match.h"

namespace tessera {

// Matches GELU reading `x`; on success appends its nodes to `nodes` and sets `*result` to its output.
bool MatchGeluErf(const Graph& graph, const ValueUses& uses, int x, std::vector<int>* nodes, int* result);

}  // namespace tessera
