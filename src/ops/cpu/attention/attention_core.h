// The scaled dot-product attention core that every attention op of this family runs (ONNX Attention,
// com.microsoft Attention / MultiHeadAttention / GroupQueryAttention, and the com.tessera fused node that
// attention_fusion writes): out = softmax(mask(softcap(scale * Q K^T) + bias)) V, in float32.
//
// Operands are views: a [batch, heads, rows, dim] tensor with any batch, head and row strides and a
// contiguous last dim, so the ops' [B, S, H*D] and [B, H, S, D] layouts (and packed QKV) are read in place.
// Query head h reads key/value head h / (q_heads / kv_heads) (grouped-query attention; 1 group = MHA).
//
// Which keys a query row sees is a range [lo, hi) per (batch, row), from three optional rules that the
// ops combine: a per-batch count of valid keys (right padding), causality (row i sits at key position
// i + query_offset[b] and sees keys up to it) and a local window (the last `window` keys up to it). Keys
// outside the range get probability 0; a row whose range is empty outputs zeros. Any other mask is an
// additive bias (a boolean mask is turned into 0 / -inf by the caller).
//
// Work is split over (batch, query head, block of query rows) on the ThreadPool: a decode step (one
// query row against a long cache) parallelises over batch x heads and reads each K and V row once,
// contiguously; a prefill reads each K row once per block of rows.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"

namespace tessera {

// A read-only [batch, heads, rows, dim] operand with a contiguous last dim (strides in elements).
struct AttentionInput {
  const float* data = nullptr;
  int64_t batch_stride = 0, head_stride = 0, row_stride = 0;
  // [batch]: where each batch starts (elements from `data`), for batches that are not evenly spaced (the
  // pooled KV caches of com.tessera CachedAttention); nullptr: b * batch_stride.
  const int64_t* batch_offsets = nullptr;
};

// The output, same layout rules.
struct AttentionOutput {
  float* data = nullptr;
  int64_t batch_stride = 0, head_stride = 0, row_stride = 0;
};

// An additive [batch, heads, rows, keys] bias; broadcast dims have stride 0.
struct AttentionBias {
  const float* data = nullptr;
  int64_t batch_stride = 0, head_stride = 0, row_stride = 0, key_stride = 0;
  // [batch]: the bias column that key 0 of each batch reads (a left-padded mask over caches that start at
  // their own row 0); nullptr: column 0.
  const int64_t* key_shift = nullptr;
};

// Which stage of the scores the optional `scores_out` receives (ONNX Attention's qk_matmul_output_mode).
enum class ScoresStage { kScaledProduct = 0, kMasked = 1, kSoftcapped = 2, kProbabilities = 3 };

struct AttentionShape {
  int64_t batch = 0, q_heads = 0, kv_heads = 0;
  int64_t q_rows = 0, kv_rows = 0;  // query rows and key rows (the whole cache when there is one)
  int64_t head_dim = 0;             // of Q and K
  int64_t v_head_dim = 0;           // of V and the output
};

struct AttentionMasking {
  const int64_t* valid_keys = nullptr;  // [batch]: keys at or past it are hidden; nullptr: all kv_rows
  bool causal = false;
  const int64_t* query_offset = nullptr;  // [batch] key position of query row 0; nullptr: `offset`
  int64_t offset = 0;
  int64_t window = -1;  // > 0: a row at position p sees only the `window` keys p - window + 1 .. p (needs causal)
};

struct AttentionParams {
  AttentionShape shape;
  float scale = 1.0f;
  float softcap = 0.0f;  // <= 0: none
  AttentionMasking masking;
  AttentionBias bias;  // data nullptr: none
  // Optional [batch, q_heads, q_rows, kv_rows] contiguous copy of the scores at `scores_stage` (masked:
  // product + bias; softcapped: softcap(product) + bias); hidden keys read -inf from the masked stage on
  // (0 as probabilities).
  float* scores_out = nullptr;
  ScoresStage scores_stage = ScoresStage::kScaledProduct;
};

// The key range [lo, hi) query `row` of batch `b` sees.
struct KeyRange {
  int64_t lo, hi;
};
KeyRange VisibleKeys(const AttentionParams& p, int64_t b, int64_t row);

// Computes `out` for every batch, query head and row. The caller has checked every shape (see each
// op's prepare): q_heads is a positive multiple of kv_heads and the views cover their extents.
void RunScaledDotProductAttention(const AttentionParams& params, const AttentionInput& q, const AttentionInput& k,
                                  const AttentionInput& v, const AttentionOutput& out, ThreadPool& pool);

}  // namespace tessera
