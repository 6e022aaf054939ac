// The attention tiles (see attention_tiles.h): MR rows x NV vectors of 16 columns, MR <= 4 and NV <= 4,
// chosen per tile so that short tails do not multiply zeros; masked loads and stores cover a last partial
// vector without reading or writing past the row.
#include "ops/cpu/attention/attention_tiles.h"

#include <immintrin.h>

#include <algorithm>

#define TILE_TARGET __attribute__((target("avx512f")))

namespace tessera {
namespace {

constexpr int kTileRows = 4;
constexpr int64_t kVector = 16;
constexpr int64_t kTileColumns = 4 * kVector;

TILE_TARGET __mmask16 ColumnMask(int64_t left) {
  return left >= kVector ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
}

template <int MR, int NV>
TILE_TARGET void ScoreTile(const float* q, int64_t q_stride, const float* kt, int64_t n, int64_t j0, int64_t width,
                           int64_t dim, float scale, float* scores, int64_t scores_stride) {
  __mmask16 mask[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) mask[v] = ColumnMask(width - v * kVector);
  __m512 acc[MR][NV];
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (int c = 0; c < NV; ++c) acc[r][c] = _mm512_setzero_ps();
  }
  const float* col = kt + j0;
  for (int64_t d = 0; d < dim; ++d) {
    __m512 k[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) k[v] = _mm512_maskz_loadu_ps(mask[v], col + d * n + v * kVector);
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
      const __m512 x = _mm512_set1_ps(q[r * q_stride + d]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(x, k[v], acc[r][v]);
    }
  }
  const __m512 s = _mm512_set1_ps(scale);
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      _mm512_mask_storeu_ps(scores + r * scores_stride + j0 + v * kVector, mask[v], _mm512_mul_ps(acc[r][v], s));
    }
  }
}

template <int MR, int NV>
TILE_TARGET void WeightedTile(const float* p, int64_t p_stride, const float* v, int64_t v_stride, int64_t lo,
                              int64_t hi, int64_t d0, int64_t width, const float* row_scale, float* out,
                              int64_t out_stride) {
  __mmask16 mask[NV];
#pragma GCC unroll 4
  for (int c = 0; c < NV; ++c) mask[c] = ColumnMask(width - c * kVector);
  __m512 acc[MR][NV];
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (int c = 0; c < NV; ++c) acc[r][c] = _mm512_setzero_ps();
  }
  for (int64_t j = lo; j < hi; ++j) {
    __m512 x[NV];
#pragma GCC unroll 4
    for (int c = 0; c < NV; ++c) x[c] = _mm512_maskz_loadu_ps(mask[c], v + j * v_stride + d0 + c * kVector);
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
      const __m512 w = _mm512_set1_ps(p[r * p_stride + j]);
#pragma GCC unroll 4
      for (int c = 0; c < NV; ++c) acc[r][c] = _mm512_fmadd_ps(w, x[c], acc[r][c]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r) {
    const __m512 s = _mm512_set1_ps(row_scale[r]);
#pragma GCC unroll 4
    for (int c = 0; c < NV; ++c) {
      _mm512_mask_storeu_ps(out + r * out_stride + d0 + c * kVector, mask[c], _mm512_mul_ps(acc[r][c], s));
    }
  }
}

// Calls Tile<MR, NV> for the rows and vector count of one tile (MR in 1..4, NV in 1..4).
template <template <int, int> class Tile, int MR, typename... Args>
TILE_TARGET void ForVectors(int64_t width, Args... args) {
  switch ((width + kVector - 1) / kVector) {
    case 1: Tile<MR, 1>::Run(args...); break;
    case 2: Tile<MR, 2>::Run(args...); break;
    case 3: Tile<MR, 3>::Run(args...); break;
    default: Tile<MR, 4>::Run(args...); break;
  }
}

template <template <int, int> class Tile, typename... Args>
TILE_TARGET void ForRowsAndVectors(int rows, int64_t width, Args... args) {
  switch (rows) {
    case 1: ForVectors<Tile, 1>(width, args...); break;
    case 2: ForVectors<Tile, 2>(width, args...); break;
    case 3: ForVectors<Tile, 3>(width, args...); break;
    default: ForVectors<Tile, 4>(width, args...); break;
  }
}

template <int MR, int NV>
struct ScoreTileOf {
  TILE_TARGET static void Run(const float* q, int64_t q_stride, const float* kt, int64_t n, int64_t j0, int64_t width,
                              int64_t dim, float scale, float* scores, int64_t scores_stride) {
    ScoreTile<MR, NV>(q, q_stride, kt, n, j0, width, dim, scale, scores, scores_stride);
  }
};

template <int MR, int NV>
struct WeightedTileOf {
  TILE_TARGET static void Run(const float* p, int64_t p_stride, const float* v, int64_t v_stride, int64_t lo,
                              int64_t hi, int64_t d0, int64_t width, const float* row_scale, float* out,
                              int64_t out_stride) {
    WeightedTile<MR, NV>(p, p_stride, v, v_stride, lo, hi, d0, width, row_scale, out, out_stride);
  }
};

}  // namespace

bool AttentionTilesAvailable() {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  return avx512;
}

TILE_TARGET void ScoreRowsTiled(const float* q, int64_t q_stride, const float* kt, int64_t n, int64_t rows,
                                int64_t dim, float scale, float* scores, int64_t scores_stride) {
  for (int64_t r = 0; r < rows; r += kTileRows) {
    const int mr = static_cast<int>(std::min<int64_t>(kTileRows, rows - r));
    for (int64_t j0 = 0; j0 < n; j0 += kTileColumns) {
      const int64_t width = std::min(kTileColumns, n - j0);
      ForRowsAndVectors<ScoreTileOf>(mr, width, q + r * q_stride, q_stride, kt, n, j0, width, dim, scale,
                                     scores + r * scores_stride, scores_stride);
    }
  }
}

TILE_TARGET void WeightedRowsTiled(const float* p, int64_t p_stride, const float* v, int64_t v_stride, int64_t rows,
                                   int64_t lo, int64_t hi, int64_t dim, const float* row_scale, float* out,
                                   int64_t out_stride) {
  for (int64_t r = 0; r < rows; r += kTileRows) {
    const int mr = static_cast<int>(std::min<int64_t>(kTileRows, rows - r));
    for (int64_t d0 = 0; d0 < dim; d0 += kTileColumns) {
      const int64_t width = std::min(kTileColumns, dim - d0);
      ForRowsAndVectors<WeightedTileOf>(mr, width, p + r * p_stride, p_stride, v, v_stride, lo, hi, d0, width,
                                        row_scale + r, out + r * out_stride, out_stride);
    }
  }
}

}  // namespace tessera
