// Transformer fusions: the dense layers of BERT/ViT-style models become one oneDNN matmul each.
//
// FuseMatMulBiasActivation rewrites
//   Y = MatMul(A, W) + bias                       W a constant float32 [K, N], bias a constant float32 [N]
// optionally followed by GELU in its erf form, as PyTorch exports it,
//   Div(Y, sqrt(2)) -> Erf -> Add(_, 1) -> Mul(Y, _) -> Mul(_, 0.5)   (or Mul(Y, 0.5) -> Mul(_, erf part))
// into one com.tessera FusedMatMul(A, W, bias) node with attribute activation = "" or "gelu_erf"
// (kernel: src/ops/cpu/matmul/matmul_fused.cc). The MatMul node keeps its place and name and takes the last
// fused node's output. W and bias may also be Identity copies of initializers (the Identity stays).
// Nothing is fused when an intermediate value has another reader (including a subgraph) or is a graph
// output, when W or bias is not an initializer of that exact dtype and shape, or when a scalar of the
// GELU chain differs from the expected constant.
#pragma once

#include "graph/graph.h"
#include "tessera/status.h"

namespace tessera {

// Returns the number of FusedMatMul nodes made through `fused_count` when it is not null.
Status FuseMatMulBiasActivation(Graph& graph, int* fused_count = nullptr);

}  // namespace tessera
