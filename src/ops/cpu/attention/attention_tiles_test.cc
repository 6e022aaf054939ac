// The AVX-512 attention tiles against double-precision loops over seeded random shapes: row counts that
// are not multiples of the 4-row tile, key and head-dim counts that leave partial vectors and more than
// one 64-column tile, strided rows, and a key range that starts past 0.
#include "ops/cpu/attention/attention_tiles.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace tessera {
namespace {

std::vector<float> RandomFloats(std::mt19937& rng, int64_t n) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

TEST(AttentionTilesTest, ScoresMatchDoubleProducts) {
  if (!AttentionTilesAvailable()) GTEST_SKIP() << "no AVX-512 on this CPU";
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 30; ++trial) {
    const int64_t rows = 1 + rng() % 9, n = 1 + rng() % 200, dim = 1 + rng() % 130;
    const int64_t q_stride = dim + rng() % 5, s_stride = n + rng() % 7;
    const float scale = 0.125f + static_cast<float>(rng() % 4);
    const std::vector<float> q = RandomFloats(rng, rows * q_stride), kt = RandomFloats(rng, dim * n);
    std::vector<float> scores(static_cast<size_t>(rows * s_stride), -7.0f);
    ScoreRowsTiled(q.data(), q_stride, kt.data(), n, rows, dim, scale, scores.data(), s_stride);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < s_stride; ++j) {
        double want = -7.0;  // past n: untouched
        if (j < n) {
          want = 0.0;
          for (int64_t d = 0; d < dim; ++d) want += double{q[r * q_stride + d]} * kt[d * n + j];
          want *= scale;
        }
        ASSERT_NEAR(scores[r * s_stride + j], want, 1e-4 * (1.0 + std::fabs(want)))
            << "rows " << rows << " n " << n << " dim " << dim << " at " << r << ", " << j;
      }
    }
  }
}

TEST(AttentionTilesTest, WeightedSumsMatchDoubleSums) {
  if (!AttentionTilesAvailable()) GTEST_SKIP() << "no AVX-512 on this CPU";
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 30; ++trial) {
    const int64_t rows = 1 + rng() % 9, keys = 1 + rng() % 200, dim = 1 + rng() % 150;
    const int64_t lo = rng() % keys, hi = lo + 1 + rng() % (keys - lo);
    const int64_t p_stride = keys + rng() % 3, v_stride = dim + rng() % 9, out_stride = dim + rng() % 4;
    const std::vector<float> p = RandomFloats(rng, rows * p_stride), v = RandomFloats(rng, keys * v_stride);
    const std::vector<float> row_scale = RandomFloats(rng, rows);
    std::vector<float> out(static_cast<size_t>(rows * out_stride), -7.0f);
    WeightedRowsTiled(p.data(), p_stride, v.data(), v_stride, rows, lo, hi, dim, row_scale.data(), out.data(),
                      out_stride);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t d = 0; d < out_stride; ++d) {
        double want = -7.0;  // past dim: untouched
        if (d < dim) {
          want = 0.0;
          for (int64_t j = lo; j < hi; ++j) want += double{p[r * p_stride + j]} * v[j * v_stride + d];
          want *= row_scale[r];
        }
        ASSERT_NEAR(out[r * out_stride + d], want, 1e-4 * (1.0 + std::fabs(want)))
            << "rows " << rows << " keys [" << lo << ", " << hi << ") dim " << dim << " at " << r << ", " << d;
      }
    }
  }
}

}  // namespace
}  // namespace tessera
