// The float32 LayerNormalization row kernel, shared with the quantization family's LayerNormQuantize
// (a LayerNorm that also writes its QuantizeLinear'd copy, graph/passes/qdq_layer_norm.h).
#pragma once

#include <cstdint>

namespace tessera {

// Normalises `rows` contiguous rows of `n` floats from x into y: (x - mean) / sqrt(var + epsilon) * scale
// (+ bias when not null). mean_out / inv_std_out, when not null, receive one value per row.
void LayerNormRowsF32(const float* x, float* y, int64_t rows, int64_t n, const float* scale, const float* bias,
                      float epsilon, float* mean_out, float* inv_std_out);

}  // namespace tessera
