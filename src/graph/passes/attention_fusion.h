// Attention fusion: the plain-op attention that older exporters write (torch 1.13's GPT-2 and Llama
// graphs among them) becomes one com.tessera FusedAttention node (kernel:
// src/ops/cpu/attention/fused_attention.cc, on the attention family's core).
//
// FuseAttention rewrites
//   S = MatMul(Q, KT) -> [Div(S, c) | Mul(S, c) | Mul(c, S)] -> [Where(cond, S, fill)] -> [Add(S, mask)]
//     -> Softmax(axis = -1) -> MatMul(P, V)
// into FusedAttention(Q, KT, V, cond, mask) with attribute scale (1/c for Div, c for Mul), keeping the
// final MatMul's place, name and output. When KT = Transpose(K) swapping the last two dims feeds only
// this chain, the Transpose goes too and the node reads K (key_transposed = 0). Nothing is fused unless
// the chain matches exactly: each intermediate value has that one reader (no subgraph reader, not a
// graph output), c is a float32 scalar constant, fill is a float32 scalar constant <= -1e4 (so a masked key's probability is 0 either
// way), Q, KT and V have one float dtype (float32 or float16) and no rank known to be outside 2 to 4,
// and cond (bool) and mask no rank known to be above 4 or above Q's.
#pragma once

#include "graph/graph.h"
#include "tessera/status.h"

namespace tessera {

// Returns the number of FusedAttention nodes made through `fused_count` when it is not null.
Status FuseAttention(Graph& graph, int* fused_count = nullptr);

}  // namespace tessera
