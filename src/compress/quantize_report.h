// What `tessera quantize` did, layer by layer, and how far the result is from the float model.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "compress/quantize_options.h"

namespace tessera::compress {

// Agreement of a quantized tensor with its float original.
struct ErrorStats {
  double max_abs = 0.0;
  double cosine = 1.0;  // 1 when both are all zero
  bool measured = false;
};

// Elementwise comparison of `n` values; an inf or NaN anywhere makes max_abs infinite.
ErrorStats CompareValues(const float* quantized, const float* reference, int64_t n);
// Folds another sample's statistics in (worst max_abs, lowest cosine).
void MergeErrorStats(ErrorStats& into, const ErrorStats& next);

struct LayerReport {
  std::string node, op, form;                // form: what the node became, e.g. "MatMulNBits 4-bit block 32"
  std::string output;                        // the node's output, whose error is measured
  float scale_min = 0.0f, scale_max = 0.0f;  // the weight's scales
  ErrorStats weight;                         // dequantized weight vs the float weight
  ErrorStats output_error;                   // the node's output vs the float model's, over the samples
};

struct SkippedNode {
  std::string node, op, reason;
};

struct QuantizeReport {
  QuantizeMode mode = QuantizeMode::kWeights;
  std::vector<LayerReport> layers;
  std::vector<SkippedNode> skipped;
  std::vector<std::pair<std::string, ErrorStats>> model_outputs;  // over the samples
  size_t samples = 0;
  int64_t weight_bytes_before = 0, weight_bytes_after = 0;
};

void PrintQuantizeReport(const QuantizeReport& report, std::ostream& out);

}  // namespace tessera::compress
