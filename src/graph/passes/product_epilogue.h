// The nodes after a Conv/MatMul/Gemm that a fused product kernel can take in (qdq_fusion for int8,
// bf16_precision for bfloat16): a MatMul/Gemm's bias Add (a constant float32 vector of the output
// channels, when the product has no bias of its own), a Conv's residual Add(Z) (Z a non-constant
// float32 value of the output's declared shape; not an Add another fusion took already), then Relu,
// Clip (constant bounds) or GELU in its erf form. Each is taken only while the value before it has that
// node as its one reader and is not a graph output.
#pragma once

#include <cfloat>
#include <string>
#include <vector>

#include "graph/passes/pattern_match.h"

namespace tessera {

struct ProductEpilogue {
  int bias = kNoValue;    // set by the caller when the product has its own bias
  int addend = kNoValue;  // Z of a Conv's residual Add
  std::vector<int> absorbed;  // nodes after the product that the fused node replaces
  std::string activation;     // "", "Relu", "Clip" or "GeluErf"
  float clip_min = -FLT_MAX, clip_max = FLT_MAX;
  int output = kNoValue;  // the last value taken: the fused node's output
};

// Fills `e` for product `node` with `channels` output channels; `removed` marks nodes other fusions
// took already.
void MatchProductEpilogue(const Graph& graph, const ValueUses& uses, const std::vector<bool>& removed, const Node& node,
                          int64_t channels, ProductEpilogue& e);

// The activation, activation_min and activation_max attributes of the fused node.
void SetEpilogueAttributes(const ProductEpilogue& e, Node& node);

}  // namespace tessera
