// FastExp: a branch-free Cephes-style expf (about 1 ulp on its clamped range) that GCC vectorises inside
// `#pragma omp simd` loops, unlike std::exp without -ffast-math (its clamps need -fno-trapping-math to be
// if-converted below AVX-512; see softmax/softmax_rows.cc). Shared by the softmax, elementwise
// (Sigmoid) and recurrent (gate activation) kernels.
#pragma once

#include <bit>
#include <cstdint>

namespace tessera {

inline float FastExp(float x) {
  // Inputs below about -87.3 give float denormals or zero: they give 0, and the clamp keeps 2^n a normal
  // float for the lanes computed alongside. Denormals must not come out of here: arithmetic on them is
  // slow, and attention masks (a large negative number added to the masked scores) make them common.
  const bool underflows = x < -87.3f;
  x = x > -87.3f ? x : -87.3f;
  x = x < 88.3f ? x : 88.3f;
  // n = round(x / ln2) by the 1.5 * 2^23 trick (exact and vectorisable without SSE4.1's roundps).
  const float shifted = x * 1.44269504088896341f + 12582912.0f;
  const float n = shifted - 12582912.0f;
  // r = x - n ln2, with ln2 split in two so the product is exact.
  const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t e = static_cast<int32_t>(n) + 127;
  const float result = p * std::bit_cast<float>(static_cast<uint32_t>(e) << 23);
  return underflows ? 0.0f : result;
}

}  // namespace tessera
