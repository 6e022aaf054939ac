// Rotary position embedding of one head row, shared by both RotaryEmbedding ops and GroupQueryAttention's
// do_rotary: the first `rotary_dim` values are rotated as pairs by the angles whose cosines and sines
// (rotary_dim / 2 each) are given, the rest are copied. Pairs are (i, i + rotary_dim / 2) ("half" form,
// GPT-NeoX / Llama) or (2i, 2i + 1) when interleaved (GPT-J).
#pragma once

#include <cstdint>

namespace tessera {

inline void RotateHead(const float* x, float* y, int64_t head_dim, int64_t rotary_dim, const float* cos,
                       const float* sin, bool interleaved) {
  const int64_t half = rotary_dim / 2;
  if (interleaved) {
    for (int64_t i = 0; i < half; ++i) {
      const float a = x[2 * i], b = x[2 * i + 1];
      y[2 * i] = a * cos[i] - b * sin[i];
      y[2 * i + 1] = b * cos[i] + a * sin[i];
    }
  } else {
    for (int64_t i = 0; i < half; ++i) {
      const float a = x[i], b = x[i + half];
      y[i] = a * cos[i] - b * sin[i];
      y[i + half] = b * cos[i] + a * sin[i];
    }
  }
  for (int64_t i = rotary_dim; i < head_dim; ++i) y[i] = x[i];
}

}  // namespace tessera
