// The scaled dot-product attention core: one (batch, query head, block of rows) at a time, scores for
// the block's key range, a numerically stable softmax per row (max subtracted, FastExp) and the weighted
// sum of V rows, all in float32. Blocks of several rows run both products on the AVX-512 tiles of
// attention_tiles.h where the CPU has them; the loops below are the portable path.

// As in softmax/softmax_rows.cc: lets GCC if-convert FastExp's clamps so the exp loop vectorises below
// AVX-512. Nothing here relies on floating-point exceptions.
#pragma GCC optimize("no-trapping-math")

#include "ops/cpu/attention/attention_core.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ops/cpu/attention/attention_tiles.h"
#include "ops/cpu/common/fast_exp.h"

namespace tessera {
namespace {

// Query rows that share one pass over their keys: each K row is read once per block, and a block's
// scores (rows x keys floats) stay in L2 for keys up to a few thousand.
constexpr int64_t kRowsPerBlock = 16;
// Below this many rows a block scores by dot products: transposing K would cost as much as the scores.
constexpr int64_t kMinRowsToTranspose = 4;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

struct Block {
  int64_t b, h, row_begin, row_end;
};

__attribute__((target_clones("avx512f", "avx2", "default")))
void ScoreBlock(const float* q, int64_t q_row_stride, const float* k, int64_t k_row_stride, int64_t rows,
                int64_t key_lo, int64_t key_hi, int64_t dim, float scale, float* scores, int64_t scores_stride) {
  for (int64_t j = key_lo; j < key_hi; ++j) {
    const float* kj = k + j * k_row_stride;
    for (int64_t r = 0; r < rows; ++r) {
      const float* qr = q + r * q_row_stride;
      float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
      for (int64_t d = 0; d < dim; ++d) dot += qr[d] * kj[d];
      scores[r * scores_stride + j] = dot * scale;
    }
  }
}

// The same scores for blocks of several rows, from K transposed into `kt` ([dim][key_hi - key_lo]): each
// score row is then a sum of scaled kt rows, vectorised over keys with no horizontal sums (a 512-token
// causal prefill, 12 heads of 64, 2 threads: 30.6 ms with dot products, 14.9 ms so); the transpose costs
// one pass over the keys.
__attribute__((target_clones("avx512f", "avx2", "default")))
void ScoreBlockTransposed(const float* q, int64_t q_row_stride, const float* k, int64_t k_row_stride, int64_t rows,
                          int64_t key_lo, int64_t key_hi, int64_t dim, float scale, float* scores,
                          int64_t scores_stride, float* kt) {
  const int64_t n = key_hi - key_lo;
  for (int64_t j = 0; j < n; ++j) {
    const float* kj = k + (key_lo + j) * k_row_stride;
    for (int64_t d = 0; d < dim; ++d) kt[d * n + j] = kj[d];
  }
  for (int64_t r = 0; r < rows; ++r) {
    const float* qr = q + r * q_row_stride;
    float* sr = scores + r * scores_stride + key_lo;
    std::fill(sr, sr + n, 0.0f);
    for (int64_t d = 0; d < dim; ++d) {
      const float qd = qr[d] * scale;
      const float* ktd = kt + d * n;
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) sr[j] += qd * ktd[j];
    }
  }
}

// Softmax of x[lo, hi) in place; returns 1 / sum so the caller can scale once after the V sum.
__attribute__((target_clones("avx512f", "avx2", "default")))
float ExpRow(float* x, int64_t lo, int64_t hi) {
  float m = x[lo];
  for (int64_t j = lo; j < hi; ++j) m = x[j] > m ? x[j] : m;
  if (m == kNegInf) {  // every visible key masked by the bias: no key wins, the row outputs zeros
    std::fill(x + lo, x + hi, 0.0f);
    return 0.0f;
  }
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = lo; j < hi; ++j) {
    const float e = FastExp(x[j] - m);
    x[j] = e;
    sum += e;
  }
  return 1.0f / sum;
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void WeightedSum(const float* p, const float* v, int64_t v_row_stride, int64_t lo, int64_t hi, int64_t dim, float inv,
                 float* acc, float* out) {
  std::fill(acc, acc + dim, 0.0f);
  for (int64_t j = lo; j < hi; ++j) {
    const float pj = p[j];
    if (pj == 0.0f) continue;
    const float* vj = v + j * v_row_stride;
#pragma omp simd
    for (int64_t d = 0; d < dim; ++d) acc[d] += pj * vj[d];
  }
#pragma omp simd
  for (int64_t d = 0; d < dim; ++d) out[d] = acc[d] * inv;
}

float Softcap(float x, float cap) { return cap * std::tanh(x / cap); }

int64_t BatchStart(const AttentionInput& x, int64_t b) {
  return x.batch_offsets ? x.batch_offsets[b] : b * x.batch_stride;
}

class BlockRunner {
 public:
  BlockRunner(const AttentionParams& p, const AttentionInput& q, const AttentionInput& k, const AttentionInput& v,
              const AttentionOutput& out)
      : p_(p), q_(q), k_(k), v_(v), out_(out), full_range_(p.scores_out != nullptr), tiled_(AttentionTilesAvailable()) {
    const AttentionShape& s = p.shape;
    scores_.resize(static_cast<size_t>(kRowsPerBlock * std::max<int64_t>(1, s.kv_rows)));
    acc_.resize(static_cast<size_t>(std::max<int64_t>(1, s.v_head_dim)));
    if (std::min(s.q_rows, kRowsPerBlock) >= kMinRowsToTranspose) {
      kt_.resize(static_cast<size_t>(std::max<int64_t>(1, s.head_dim * s.kv_rows)));
    }
  }

  void Run(const Block& blk) {
    const AttentionShape& s = p_.shape;
    const int64_t group = s.q_heads / s.kv_heads, kvh = blk.h / group, rows = blk.row_end - blk.row_begin;
    const int64_t n = s.kv_rows;
    KeyRange ranges[kRowsPerBlock];
    int64_t lo = n, hi = 0;
    for (int64_t r = 0; r < rows; ++r) {
      ranges[r] = VisibleKeys(p_, blk.b, blk.row_begin + r);
      if (ranges[r].lo < ranges[r].hi) lo = std::min(lo, ranges[r].lo), hi = std::max(hi, ranges[r].hi);
    }
    if (full_range_) lo = 0, hi = n;
    const float* qb = q_.data + blk.b * q_.batch_stride + blk.h * q_.head_stride + blk.row_begin * q_.row_stride;
    const float* kb = k_.data + BatchStart(k_, blk.b) + kvh * k_.head_stride;
    const float* vb = v_.data + BatchStart(v_, blk.b) + kvh * v_.head_stride;
    const bool tiled = tiled_ && lo < hi && rows >= kMinRowsToTranspose;
    if (tiled) {
      const float* kt = TransposedKeys(blk.b, kvh, kb, lo, hi);
      ScoreRowsTiled(qb, q_.row_stride, kt, hi - lo, rows, s.head_dim, p_.scale, scores_.data() + lo, n);
    } else if (lo < hi && rows >= kMinRowsToTranspose) {
      ScoreBlockTransposed(qb, q_.row_stride, kb, k_.row_stride, rows, lo, hi, s.head_dim, p_.scale, scores_.data(), n,
                           kt_.data());
    } else if (lo < hi) {
      ScoreBlock(qb, q_.row_stride, kb, k_.row_stride, rows, lo, hi, s.head_dim, p_.scale, scores_.data(), n);
    }
    float inv[kRowsPerBlock];
    float* ob = out_.data + blk.b * out_.batch_stride + blk.h * out_.head_stride + blk.row_begin * out_.row_stride;
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t row = blk.row_begin + r;
      float* x = scores_.data() + r * n;
      float* o = ob + r * out_.row_stride;
      float* probe = p_.scores_out ? p_.scores_out + ((blk.b * s.q_heads + blk.h) * s.q_rows + row) * n : nullptr;
      FinishScores(blk, row, x, ranges[r], probe);
      inv[r] = 0.0f;
      if (ranges[r].lo >= ranges[r].hi) {
        std::fill(o, o + s.v_head_dim, 0.0f);
        if (tiled) std::fill(x + lo, x + hi, 0.0f);
        if (probe && p_.scores_stage == ScoresStage::kProbabilities) std::fill(probe, probe + n, 0.0f);
        continue;
      }
      inv[r] = ExpRow(x, ranges[r].lo, ranges[r].hi);
      if (tiled) {  // the block's tile sums keys [lo, hi): this row's hidden ones weigh 0
        std::fill(x + lo, x + ranges[r].lo, 0.0f);
        std::fill(x + ranges[r].hi, x + hi, 0.0f);
      } else {
        WeightedSum(x, vb, v_.row_stride, ranges[r].lo, ranges[r].hi, s.v_head_dim, inv[r], acc_.data(), o);
      }
      if (probe && p_.scores_stage == ScoresStage::kProbabilities) {
        std::fill(probe, probe + n, 0.0f);
        for (int64_t j = ranges[r].lo; j < ranges[r].hi; ++j) probe[j] = x[j] * inv[r];
      }
    }
    if (!tiled) return;
    WeightedRowsTiled(scores_.data(), n, vb, v_.row_stride, rows, lo, hi, s.v_head_dim, inv, ob, out_.row_stride);
    for (int64_t r = 0; r < rows; ++r) {  // rows that see no key output zeros, whatever V holds
      float* o = ob + r * out_.row_stride;
      if (ranges[r].lo >= ranges[r].hi) std::fill(o, o + s.v_head_dim, 0.0f);
    }
  }

 private:
  // Softcap, then the bias, on the visible keys (every key when probing).
  void FinishScores(const Block& blk, int64_t row, float* x, KeyRange range, float* probe) {
    const AttentionBias& bias = p_.bias;
    const int64_t shift = bias.key_shift ? bias.key_shift[blk.b] * bias.key_stride : 0;
    const float* bias_row = bias.data ? bias.data + blk.b * bias.batch_stride + blk.h * bias.head_stride +
                                            row * bias.row_stride + shift
                                      : nullptr;
    const int64_t lo = probe ? 0 : range.lo, hi = probe ? p_.shape.kv_rows : range.hi;
    const float cap = p_.softcap;
    if (probe && p_.scores_stage == ScoresStage::kScaledProduct) std::copy(x + lo, x + hi, probe + lo);
    for (int64_t j = lo; j < hi; ++j) {
      const float b = bias_row ? bias_row[j * bias.key_stride] : 0.0f;
      const bool hidden = j < range.lo || j >= range.hi;
      if (probe && p_.scores_stage == ScoresStage::kMasked) probe[j] = hidden ? kNegInf : x[j] + b;
      const float s = (cap > 0.0f ? Softcap(x[j], cap) : x[j]) + b;
      if (probe && p_.scores_stage == ScoresStage::kSoftcapped) probe[j] = hidden ? kNegInf : s;
      x[j] = s;
    }
  }

  // K rows [lo, hi) of (batch b, kv head kvh) transposed into kt_ ([head_dim][hi - lo]); the blocks of one
  // head that see the same keys (every block, without causality) transpose them once.
  const float* TransposedKeys(int64_t b, int64_t kvh, const float* kb, int64_t lo, int64_t hi) {
    if (b == kt_b_ && kvh == kt_head_ && lo == kt_lo_ && hi == kt_hi_) return kt_.data();
    const int64_t n = hi - lo, dim = p_.shape.head_dim;
    for (int64_t j = 0; j < n; ++j) {
      const float* kj = kb + (lo + j) * k_.row_stride;
      for (int64_t d = 0; d < dim; ++d) kt_[static_cast<size_t>(d * n + j)] = kj[d];
    }
    kt_b_ = b, kt_head_ = kvh, kt_lo_ = lo, kt_hi_ = hi;
    return kt_.data();
  }

  const AttentionParams& p_;
  const AttentionInput &q_, &k_, &v_;
  const AttentionOutput& out_;
  bool full_range_;
  bool tiled_;  // AVX-512 tiles for both products
  std::vector<float> scores_, acc_, kt_;
  int64_t kt_b_ = -1, kt_head_ = -1, kt_lo_ = -1, kt_hi_ = -1;  // what kt_ holds (TransposedKeys)
};

}  // namespace

KeyRange VisibleKeys(const AttentionParams& p, int64_t b, int64_t row) {
  const AttentionMasking& m = p.masking;
  int64_t hi = m.valid_keys ? std::min(m.valid_keys[b], p.shape.kv_rows) : p.shape.kv_rows;
  int64_t lo = 0;
  if (m.causal) {
    const int64_t pos = row + (m.query_offset ? m.query_offset[b] : m.offset);
    hi = std::min(hi, pos + 1);
    if (m.window > 0) lo = std::max<int64_t>(0, pos - m.window + 1);
  }
  return {lo, std::max(lo, hi)};
}

void RunScaledDotProductAttention(const AttentionParams& params, const AttentionInput& q, const AttentionInput& k,
                                  const AttentionInput& v, const AttentionOutput& out, ThreadPool& pool) {
  const AttentionShape& s = params.shape;
  if (s.batch <= 0 || s.q_heads <= 0 || s.q_rows <= 0 || s.v_head_dim <= 0) return;
  const int64_t blocks_per_head = (s.q_rows + kRowsPerBlock - 1) / kRowsPerBlock;
  const int64_t items = s.batch * s.q_heads * blocks_per_head;
  // About 2 * rows * keys * dim flops per item: tiny items (short caches) are grouped per chunk.
  const int64_t work = std::max<int64_t>(1, std::min(s.q_rows, kRowsPerBlock) * std::max<int64_t>(1, s.kv_rows) *
                                                (s.head_dim + s.v_head_dim));
  const int64_t min_chunk = std::max<int64_t>(1, 32768 / work);
  pool.ParallelFor(items, min_chunk, [&](int64_t begin, int64_t end) {
    BlockRunner runner(params, q, k, v, out);
    for (int64_t i = begin; i < end; ++i) {
      const int64_t blk = i % blocks_per_head, bh = i / blocks_per_head;
      const int64_t row_begin = blk * kRowsPerBlock;
      runner.Run({bh / s.q_heads, bh % s.q_heads, row_begin, std::min(s.q_rows, row_begin + kRowsPerBlock)});
    }
  });
}

}  // namespace tessera
