// Register-blocked AVX-512 tiles for the two products of the attention core (attention_core.cc): the
// scores of a block of query rows against transposed keys, and the probability-weighted sum of V rows.
// Each tile keeps up to 4 rows x 64 columns of accumulators in registers for the whole inner loop, so a
// loaded key or value vector feeds 4 rows and no partial sum goes through memory (the plain loops of the
// core store and reload one row's sums per key: ViT-B/16's 197-token attention ran at ~18 GFLOP/s).
//
// Callers check AttentionTilesAvailable() once; without AVX-512 the core keeps its portable loops.
#pragma once

#include <cstdint>

namespace tessera {

// Whether this CPU runs the tiles (AVX-512F).
bool AttentionTilesAvailable();

// scores[r * scores_stride + j] = scale * sum_d q[r * q_stride + d] * kt[d * n + j] for r < rows, j < n:
// kt holds the keys transposed, dim rows of n floats.
void ScoreRowsTiled(const float* q, int64_t q_stride, const float* kt, int64_t n, int64_t rows, int64_t dim,
                    float scale, float* scores, int64_t scores_stride);

// out[r * out_stride + d] = row_scale[r] * sum_{lo <= j < hi} p[r * p_stride + j] * v[j * v_stride + d] for
// r < rows, d < dim.
void WeightedRowsTiled(const float* p, int64_t p_stride, const float* v, int64_t v_stride, int64_t rows, int64_t lo,
                       int64_t hi, int64_t dim, const float* row_scale, float* out, int64_t out_stride);

}  // namespace tessera
