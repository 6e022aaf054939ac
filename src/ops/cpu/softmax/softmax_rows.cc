// The float32 contiguous-row softmax: the hot path of attention (softmax over the last axis).
// Three passes over a row that normally sits in L1: max, exp and sum, scale.

// Set before the includes so FastExp gets the same options and still inlines: without it GCC will not
// if-convert FastExp's clamps (a compare may trap) for AVX2 and SSE2, and the exp loop stays scalar
// there (measured 3x slower on AVX2). No code here relies on floating-point exceptions.
#pragma GCC optimize("no-trapping-math")

#include <cmath>

#include "ops/cpu/softmax/softmax_math.h"

namespace tessera {

__attribute__((target_clones("avx512f", "avx2", "default")))
void SoftmaxRowsF32(const float* x, float* y, int64_t rows, int64_t n, bool log) {
  for (int64_t r = 0; r < rows; ++r, x += n, y += n) {
    float m = x[0];
#pragma omp simd reduction(max : m)
    for (int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
    float sum = 0.0f;
    if (log) {
#pragma omp simd reduction(+ : sum)
      for (int64_t i = 0; i < n; ++i) sum += FastExp(x[i] - m);
      const float shift = m + std::log(sum);
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] - shift;
    } else {
#pragma omp simd reduction(+ : sum)
      for (int64_t i = 0; i < n; ++i) {
        const float e = FastExp(x[i] - m);
        y[i] = e;
        sum += e;
      }
      const float inv = 1.0f / sum;
      // Scaling can take a tiny exp below the normal range; a denormal probability would slow every op
      // that reads it (the attention MatMul after the softmax) for a value that is 0 to within 1e-38.
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) {
        const float v = y[i] * inv;
        y[i] = v >= kSmallestNormal ? v : 0.0f;
      }
    }
  }
}

}  // namespace tessera
