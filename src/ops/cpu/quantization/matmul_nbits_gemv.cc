// The decode-time product of MatMulNBits: y = A x W^T for 1 to 4 rows of A, reading each packed weight
// once and dequantizing it in registers.
//
// Decode is bound by memory bandwidth, so the kernel streams B row by row (one output column n at a
// time, rows of B are contiguous) and does as little per weight as it can: with
//   W[n, k] = q * s - s * zp   (per block),
//   y[r, n] = sum_blocks ( s * dot(q_block, a_block) - s * zp * sum(a_block) ),
// the zero point costs one multiply per block (the block sums of A are computed once per call) instead
// of one subtraction per weight. The per-block dot stays in a vector register and is scaled there, so
// there is one horizontal sum per output, not per block. Each dequantized vector of q is used for every
// row of A (up to kNBitsGemvMaxRows). AVX-512 (F + BW) is chosen at run time; the build assumes no -march.
#include <immintrin.h>

// GCC 12 reports the deliberately undefined pass-through operand inside its own AVX-512 intrinsics
// (_mm512_undefined_ps in _mm512_cvtepi32_ps, _mm512_reduce_add_ps, ...) as uninitialized; it is not.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include "ops/cpu/quantization/matmul_nbits_weights.h"

namespace tessera {
namespace {

// One output column n for `MR` rows of A; `BITS` is 4 or 8.
template <int MR, int BITS>
__attribute__((target("avx512f,avx512bw"))) void GemvColumnAvx512(const NBitsWeights& w, const float* a,
                                                                   int64_t a_stride, const float* a_block_sums,
                                                                   int64_t n, float* y, int64_t y_stride) {
  const uint8_t* row = w.q + n * w.k_blocks * w.blob_size;
  const float* s = w.scales.data() + n * w.k_blocks;
  const float* sz = w.scaled_zero.data() + n * w.k_blocks;
  __m512 total[MR];
  float correction[MR];
  for (int r = 0; r < MR; ++r) {
    total[r] = _mm512_setzero_ps();
    correction[r] = 0.0f;
  }
  const __m128i low_mask = _mm_set1_epi8(0x0F);
  for (int64_t g = 0; g < w.k_blocks; ++g) {
    const uint8_t* p = row + g * w.blob_size;
    const float* ab = a + g * w.block_size;
    __m512 acc[MR];
    for (int r = 0; r < MR; ++r) acc[r] = _mm512_setzero_ps();
    if constexpr (BITS == 4) {
      // 16 bytes hold 32 weights: byte j is weights 2j (low nibble) and 2j+1 (high nibble).
      for (int64_t j = 0; j < w.block_size; j += 32) {
        const __m128i bytes = w.block_size == 16 ? _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + j / 2))
                                                 : _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + j / 2));
        const __m128i lo = _mm_and_si128(bytes, low_mask);
        const __m128i hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), low_mask);
        const __m512 f0 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_unpacklo_epi8(lo, hi)));
        for (int r = 0; r < MR; ++r) acc[r] = _mm512_fmadd_ps(f0, _mm512_loadu_ps(ab + r * a_stride + j), acc[r]);
        if (w.block_size == 16) break;
        const __m512 f1 = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_unpackhi_epi8(lo, hi)));
        for (int r = 0; r < MR; ++r) acc[r] = _mm512_fmadd_ps(f1, _mm512_loadu_ps(ab + r * a_stride + j + 16), acc[r]);
      }
    } else {
      for (int64_t j = 0; j < w.block_size; j += 16) {
        const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + j));
        const __m512 f = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes));
        for (int r = 0; r < MR; ++r) acc[r] = _mm512_fmadd_ps(f, _mm512_loadu_ps(ab + r * a_stride + j), acc[r]);
      }
    }
    const __m512 scale = _mm512_set1_ps(s[g]);
    for (int r = 0; r < MR; ++r) {
      total[r] = _mm512_fmadd_ps(acc[r], scale, total[r]);
      correction[r] += sz[g] * a_block_sums[r * w.k_blocks + g];
    }
  }
  for (int r = 0; r < MR; ++r) y[r * y_stride + n] = _mm512_reduce_add_ps(total[r]) - correction[r];
}

template <int MR>
void GemvAvx512Rows(const NBitsWeights& w, const float* a, const float* sums, int64_t n0, int64_t n1, float* y,
                    int64_t y_stride) {
  const int64_t a_stride = w.k_blocks * w.block_size;
  for (int64_t n = n0; n < n1; ++n) {
    if (w.bits == 4) {
      GemvColumnAvx512<MR, 4>(w, a, a_stride, sums, n, y, y_stride);
    } else {
      GemvColumnAvx512<MR, 8>(w, a, a_stride, sums, n, y, y_stride);
    }
  }
}

}  // namespace

bool NBitsGemvUsesAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  return has;
}

void NBitsGemvScalar(const NBitsWeights& w, const float* a, const float* a_block_sums, int rows, int64_t n0,
                     int64_t n1, float* y, int64_t y_stride) {
  const int64_t a_stride = w.k_blocks * w.block_size;
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t* row = w.q + n * w.k_blocks * w.blob_size;
    for (int r = 0; r < rows; ++r) {
      const float* ar = a + r * a_stride;
      float total = 0.0f;
      for (int64_t g = 0; g < w.k_blocks; ++g) {
        const uint8_t* p = row + g * w.blob_size;
        const float* ab = ar + g * w.block_size;
        float dot = 0.0f;
        for (int64_t j = 0; j < w.block_size; ++j) {
          const int q = w.bits == 8 ? p[j] : (j % 2 == 0 ? p[j / 2] & 0x0F : p[j / 2] >> 4);
          dot += static_cast<float>(q) * ab[j];
        }
        const size_t i = static_cast<size_t>(n * w.k_blocks + g);
        total += w.scales[i] * dot - w.scaled_zero[i] * a_block_sums[r * w.k_blocks + g];
      }
      y[r * y_stride + n] = total;
    }
  }
}

void NBitsGemv(const NBitsWeights& w, const float* a, const float* a_block_sums, int rows, int64_t n0, int64_t n1,
               float* y, int64_t y_stride) {
  if (!NBitsGemvUsesAvx512()) {
    NBitsGemvScalar(w, a, a_block_sums, rows, n0, n1, y, y_stride);
    return;
  }
  switch (rows) {
    case 1: GemvAvx512Rows<1>(w, a, a_block_sums, n0, n1, y, y_stride); break;
    case 2: GemvAvx512Rows<2>(w, a, a_block_sums, n0, n1, y, y_stride); break;
    case 3: GemvAvx512Rows<3>(w, a, a_block_sums, n0, n1, y, y_stride); break;
    default: GemvAvx512Rows<4>(w, a, a_block_sums, n0, n1, y, y_stride); break;
  }
}

}  // namespace tessera
