// 8-bit linear quantization, x = (q - zero_point) * scale, as QuantizeLinear/DequantizeLinear and
// MatMulInteger define it: scales for weights (per tensor or per channel) and for calibrated activations.
//
// Weights are int8. Symmetric: scale = amax / 127, zero point 0 (the form ONNX Runtime's quantizer
// writes by default). Asymmetric: [min(w, 0), max(w, 0)] onto [-128, 127] with an int8 zero point.
// Activations are uint8 asymmetric (zero point in [0, 255]) or, symmetric, int8 with zero point 0. A range
// always holds 0 so that zero padding and ReLU zeros are exact; an empty range gets scale 1.
#pragma once

#include <cstdint>
#include <vector>

namespace tessera::compress {

struct QuantParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
};

// The parameters that map [lo, hi] onto the int8 (signed) or uint8 code range.
QuantParams ChooseQuantParams(float lo, float hi, bool is_signed, bool symmetric);

struct Int8Weight {
  std::vector<int8_t> values;       // the same shape as the float weight
  std::vector<float> scales;        // 1 (per tensor) or one per channel
  std::vector<int8_t> zero_points;  // as many as scales
  int64_t axis = -1;                // the channel axis, -1 for per tensor
};

// Quantizes a weight of `dims` to int8, per tensor (axis < 0) or with one scale per index of `axis`.
Int8Weight QuantizeWeightInt8(const float* w, const std::vector<int64_t>& dims, int64_t axis, bool symmetric);

// The float weight an Int8Weight stands for.
std::vector<float> DequantizeWeightInt8(const Int8Weight& q, const std::vector<int64_t>& dims);

}  // namespace tessera::compress
