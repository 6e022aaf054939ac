// What the attention ops share around the core: float32 staging of 16-bit inputs, views of the
// [B, S, H*D] and [B, H, S, D] layouts, KV-cache concatenation and masks turned into additive biases.
#pragma once

#include <string>

#include "ops/cpu/attention/attention_core.h"
#include "ops/kernel.h"

namespace tessera {

// float32 `t` as is; float16 / bfloat16 converted to a new float32 tensor; anything else is an error
// naming `what`.
StatusOr<Tensor> AttentionFloat32(const Tensor& t, const char* what);
// Writes float32 `value` into `out` (allocated by the caller with `value`'s element count) in out's dtype.
void StoreFromFloat32(const Tensor& value, Tensor& out);

// Float32 storage for output `i` of an op whose outputs have `dtype`: the output itself when dtype is
// float32 (or when the node leaves it unnamed: then a scratch tensor), else scratch that
// FinishAttentionOutput converts into the output.
StatusOr<Tensor> AttentionOutputStorage(KernelContext& ctx, size_t i, DType dtype, const Shape& shape,
                                        bool zero = false);
Status FinishAttentionOutput(KernelContext& ctx, size_t i, DType dtype, const Tensor& value);

// An additive [batch, 1, q_rows or 1, kv_rows] bias from a key padding mask in ORT's int32 forms:
// [B] (keys from mask[b] on are hidden), [2B] (keys outside [mask[B + b], mask[b]) are hidden), [B, kv_rows]
// and [B, q_rows, kv_rows] (0 hides). Hidden keys get `filter` (ORT's mask_filter_value). Errors name `what`.
StatusOr<AttentionBias> KeyPaddingBias(const Tensor& mask, int64_t batch, int64_t q_rows, int64_t kv_rows, float filter,
                                       const char* what, Tensor& storage);

// a + b over [batch, heads, q_rows, kv_rows], materialised in `storage` (for ops given both a mask and a bias).
StatusOr<AttentionBias> SumAttentionBiases(const AttentionBias& a, const AttentionBias& b, int64_t batch, int64_t heads,
                                           int64_t q_rows, int64_t kv_rows, Tensor& storage);

// A [B, S, H*D]-style tensor whose rows hold `row_width` floats, heads of `head_dim` starting at column
// `column` (packed QKV reads Q, K and V from one tensor at different columns).
AttentionInput ViewRowsOfHeads(const float* data, int64_t rows, int64_t row_width, int64_t head_dim,
                               int64_t column = 0);
// A contiguous [B, H, S, D] tensor.
AttentionInput ViewHeadsOfRows(const float* data, int64_t heads, int64_t rows, int64_t head_dim);
AttentionOutput OutputRowsOfHeads(float* data, int64_t rows, int64_t heads, int64_t head_dim);
AttentionOutput OutputHeadsOfRows(float* data, int64_t heads, int64_t rows, int64_t head_dim);

// present[b, h] = past[b, h, :past_rows] followed by fresh[b, h, :fresh_rows]; present is a contiguous
// [batch, heads, past_rows + fresh_rows, dim] buffer, past a contiguous [batch, heads, past_rows, dim]
// one (nullptr when past_rows is 0).
void ConcatKvCache(const float* past, int64_t past_rows, const AttentionInput& fresh, int64_t fresh_rows, int64_t batch,
                   int64_t heads, int64_t dim, float* present);

// A mask of `mask`'s shape, right-aligned against [batch, heads, q_rows, kv_rows] with numpy
// broadcasting (missing leading dims and dims of 1 broadcast), as an additive float32 bias: a bool mask
// becomes 0 where true and -inf where false; a float mask is added as is. `storage` keeps the converted
// values alive. Errors name `what` and the shapes.
StatusOr<AttentionBias> BroadcastAttentionBias(const Tensor& mask, int64_t batch, int64_t heads, int64_t q_rows,
                                               int64_t kv_rows, const char* what, Tensor& storage);

// The storage behind FusedConditionAndMask's bias: it must outlive the attention run that reads it.
struct FusedBiasStorage {
  Tensor condition, mask, sum;
};
// The additive bias of com.tessera FusedAttention-style nodes: optional input 3, a bool condition (true
// keeps a key), and optional input 4, a float mask, each broadcast against [batch, heads, q_rows, kv_rows]
// and summed when both are given; an empty bias when neither is.
StatusOr<AttentionBias> FusedConditionAndMask(KernelContext& ctx, int64_t batch, int64_t heads, int64_t q_rows,
                                              int64_t kv_rows, FusedBiasStorage& storage);

}  // namespace tessera
