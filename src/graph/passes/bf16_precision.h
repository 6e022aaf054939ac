// --precision bf16: float32 products computed in bfloat16 (SessionOptions::Precision::kBFloat16).
//
// ConvertProductsToBf16 rewrites every Conv, MatMul and Gemm whose X is float32 and whose weight is a
// constant float32 initializer (Conv [M, C/group, k...]; MatMul [K, N]; Gemm transA = 0, alpha = 1, beta = 1,
// B [K, N] or [N, K] with transB, C a constant [N] vector or absent), together with the epilogue a fused
// kernel can take (product_epilogue.h: bias Add, residual Add, Relu/Clip/GELU), into one com.tessera
// Bf16Conv(X, W, B[, Z]) or Bf16MatMul(X, W, B) node (kernels: src/ops/cpu/bfloat16/). The kernels
// convert W to bfloat16 once, X on every run, and accumulate in float32; outputs stay float32, so the rest
// of the graph is unchanged. It runs before the float32 fusions, which then find nothing left to take.
#pragma once

#include "graph/graph.h"
#include "tessera/status.h"

namespace tessera {

// Returns the number of nodes made through `converted` when it is not null.
Status ConvertProductsToBf16(Graph& graph, int* converted = nullptr);

}  // namespace tessera
