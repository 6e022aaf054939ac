// PanelGemv: see matmul_gemv_panels.h. Per panel, rows x 4 accumulators of 16 columns; each row k of the
// panel (256 bytes, four vectors) is loaded once and multiplied by A[r, k] for every row r.
#include "ops/cpu/matmul/matmul_gemv_panels.h"

#include <immintrin.h>

#include <algorithm>

#define PANEL_TARGET __attribute__((target("avx512f")))

namespace tessera {
namespace {

// How far ahead of the row being multiplied the panel is prefetched (as the int8 MatMulNBits product does:
// the hardware prefetcher alone falls behind while the core computes).
constexpr int64_t kPrefetchFloats = 1024;

// One panel for MR rows. A single row keeps two sets of accumulators (even and odd k) so its fused
// multiply-adds do not wait on each other; more rows have enough independent ones already.
template <int MR>
PANEL_TARGET void PanelColumns(const PanelMatrix& b, const float* a, int64_t a_stride, int64_t p, float* c,
                               int64_t c_stride) {
  constexpr int kSets = MR == 1 ? 2 : 1;
  const float* panel = b.data + p * b.k_padded * kPanelColumns;
  __m512 acc[kSets][MR][4];
  for (auto& set : acc) {
    for (auto& row : set) {
      for (__m512& v : row) v = _mm512_setzero_ps();
    }
  }
  int64_t k = 0;
  for (; k + kSets <= b.k; k += kSets) {
    for (int h = 0; h < kSets; ++h) {
      const float* w = panel + (k + h) * kPanelColumns;
      _mm_prefetch(reinterpret_cast<const char*>(w + kPrefetchFloats), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(w + kPrefetchFloats + 32), _MM_HINT_T0);
      const __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16);
      const __m512 w2 = _mm512_loadu_ps(w + 32), w3 = _mm512_loadu_ps(w + 48);
      for (int r = 0; r < MR; ++r) {
        const __m512 x = _mm512_set1_ps(a[r * a_stride + k + h]);
        acc[h][r][0] = _mm512_fmadd_ps(x, w0, acc[h][r][0]);
        acc[h][r][1] = _mm512_fmadd_ps(x, w1, acc[h][r][1]);
        acc[h][r][2] = _mm512_fmadd_ps(x, w2, acc[h][r][2]);
        acc[h][r][3] = _mm512_fmadd_ps(x, w3, acc[h][r][3]);
      }
    }
  }
  for (; k < b.k; ++k) {  // the odd last row of a single-row product
    const float* w = panel + k * kPanelColumns;
    for (int r = 0; r < MR; ++r) {
      const __m512 x = _mm512_set1_ps(a[r * a_stride + k]);
      for (int j = 0; j < 4; ++j) acc[0][r][j] = _mm512_fmadd_ps(x, _mm512_loadu_ps(w + 16 * j), acc[0][r][j]);
    }
  }
  const int64_t n0 = p * kPanelColumns;
  const int64_t width = std::min<int64_t>(kPanelColumns, b.n - n0);
  for (int r = 0; r < MR; ++r) {
    for (int j = 0; j < 4; ++j) {
      const int64_t left = width - 16 * j;
      if (left <= 0) break;
      const __mmask16 m = left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
      __m512 sum = acc[0][r][j];
      if constexpr (kSets == 2) sum = _mm512_add_ps(sum, acc[1][r][j]);
      _mm512_mask_storeu_ps(c + r * c_stride + n0 + 16 * j, m, sum);
    }
  }
}

PANEL_TARGET void PanelGemvAvx512(const PanelMatrix& b, const float* a, int rows, int64_t a_stride, int64_t p0,
                                  int64_t p1, float* c, int64_t c_stride) {
  for (int64_t p = p0; p < p1; ++p) {
    switch (rows) {
      case 1:
        PanelColumns<1>(b, a, a_stride, p, c, c_stride);
        break;
      case 2:
        PanelColumns<2>(b, a, a_stride, p, c, c_stride);
        break;
      case 3:
        PanelColumns<3>(b, a, a_stride, p, c, c_stride);
        break;
      default:
        PanelColumns<4>(b, a, a_stride, p, c, c_stride);
        break;
    }
  }
}

}  // namespace

void PanelGemvScalar(const PanelMatrix& b, const float* a, int rows, int64_t a_stride, int64_t p0, int64_t p1,
                     float* c, int64_t c_stride) {
  for (int64_t p = p0; p < p1; ++p) {
    const float* panel = b.data + p * b.k_padded * kPanelColumns;
    const int64_t n0 = p * kPanelColumns;
    const int64_t width = std::min<int64_t>(kPanelColumns, b.n - n0);
    for (int r = 0; r < rows; ++r) {
      float sums[kPanelColumns] = {};
      for (int64_t k = 0; k < b.k; ++k) {
        const float x = a[r * a_stride + k];
        for (int64_t j = 0; j < width; ++j) sums[j] += x * panel[k * kPanelColumns + j];
      }
      std::copy(sums, sums + width, c + r * c_stride + n0);
    }
  }
}

void PanelGemv(const PanelMatrix& b, const float* a, int rows, int64_t a_stride, int64_t p0, int64_t p1, float* c,
               int64_t c_stride) {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  if (avx512) {
    PanelGemvAvx512(b, a, rows, a_stride, p0, p1, c, c_stride);
  } else {
    PanelGemvScalar(b, a, rows, a_stride, p0, p1, c, c_stride);
  }
}

}  // namespace tessera
