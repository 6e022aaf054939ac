// com.microsoft MultiHeadAttention, as ONNX Runtime defines it:
//   query [B, S, H*D]; key/value [B, L, H*D] and [B, L, H*Dv], or already split into heads as
//   [B, H, L, D] (cross attention with a computed cache; no past then); or packed: query [B, S, H, 3, D]
//   with key and value absent, or key [B, L, H, 2, D] with value absent.
//   bias [H*D + H*D + H*Dv] is added to Q, K and V (3-D key/value only); key_padding_mask int32 in
//   ORT's forms (attention_tensors.h); attention_bias [B or 1, H or 1, S, total]; past_key/past_value
//   [B, H, P, D] give present_key/present_value [B, H, P + L, D]; unidirectional is causal with the new
//   rows after the cache. Masked keys get mask_filter_value (default -10000) added, as in ORT.
#include <cmath>
#include <cstring>
#include <string>

#include "ops/cpu/attention/attention_kernels.h"
#include "ops/cpu/attention/attention_tensors.h"

namespace tessera {
namespace {

// Copies [B, rows, H, (slot of `slots`), D] heads into a contiguous [B, H, rows, D] buffer, adding bias[h*D + d].
void GatherHeads(const AttentionInput& src, int64_t batch, int64_t heads, int64_t rows, int64_t dim, const float* bias,
                 float* dst) {
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t r = 0; r < rows; ++r) {
        const float* s = src.data + b * src.batch_stride + h * src.head_stride + r * src.row_stride;
        float* d = dst + ((b * heads + h) * rows + r) * dim;
        for (int64_t i = 0; i < dim; ++i) d[i] = s[i] + (bias ? bias[h * dim + i] : 0.0f);
      }
    }
  }
}

class MultiHeadAttentionKernel : public Kernel {
 public:
  explicit MultiHeadAttentionKernel(const Node& node)
      : heads_(node.GetInt("num_heads", 0)),
        causal_(node.GetInt("unidirectional", 0) != 0),
        filter_(node.GetFloat("mask_filter_value", -10000.0f)),
        scale_(node.GetFloat("scale", 0.0f)) {}

  Status Validate() const {
    if (heads_ <= 0)
      return KernelContext::Error("attribute 'num_heads' must be positive, got " + std::to_string(heads_));
    return Status::Ok();
  }

  Status Run(KernelContext& ctx) override;

 private:
  int64_t heads_;
  bool causal_;
  float filter_, scale_;
};

Status MultiHeadAttentionKernel::Run(KernelContext& ctx) {
  const int64_t H = heads_;
  if (ctx.input_count() > 9 && ctx.has_input(9))
    return Unimplemented("cache_indirection (beam search) is not supported");
  TS_ASSIGN_OR_RETURN(Tensor query, AttentionFloat32(ctx.input(0), "query"));
  Tensor key, value, bias;
  if (ctx.has_input(1)) {
    TS_ASSIGN_OR_RETURN(key, AttentionFloat32(ctx.input(1), "key"));
  }
  if (ctx.has_input(2)) {
    TS_ASSIGN_OR_RETURN(value, AttentionFloat32(ctx.input(2), "value"));
  }
  if (ctx.has_input(3)) {
    TS_ASSIGN_OR_RETURN(bias, AttentionFloat32(ctx.input(3), "bias"));
  }
  const int64_t batch = query.rank() >= 1 ? query.dim(0) : 0, seq = query.rank() >= 2 ? query.dim(1) : 0;
  AttentionInput qv, kv, vv;
  int64_t d = 0, dv = 0, kv_rows = 0;
  bool kv_split = false;  // key/value given as [B, H, L, D]
  if (query.rank() == 5) {
    if (key.defined() || value.defined() || query.dim(2) != H || query.dim(3) != 3) {
      return KernelContext::Error("packed query " + ShapeToString(query.shape()) +
                                  " must be [batch, seq, num_heads, 3, " + "head_size] with key and value absent");
    }
    d = dv = query.dim(4), kv_rows = seq;
    const int64_t row = H * 3 * d;
    qv = {query.data<float>(), seq * row, 3 * d, row};
    kv = {qv.data + d, qv.batch_stride, qv.head_stride, row};
    vv = {qv.data + 2 * d, qv.batch_stride, qv.head_stride, row};
  } else if (query.rank() == 3 && query.dim(2) % H == 0) {
    d = query.dim(2) / H;
    qv = ViewRowsOfHeads(query.data<float>(), seq, H * d, d);
    if (key.rank() == 5 && !value.defined()) {
      if (key.dim(0) != batch || key.dim(2) != H || key.dim(3) != 2 || key.dim(4) != d) {
        return KernelContext::Error("packed key " + ShapeToString(key.shape()) +
                                    " must be [batch, kv_seq, num_heads, 2, " + std::to_string(d) + "]");
      }
      kv_rows = key.dim(1), dv = d;
      const int64_t row = H * 2 * d;
      kv = {key.data<float>(), kv_rows * row, 2 * d, row};
      vv = {kv.data + d, kv.batch_stride, kv.head_stride, row};
    } else if (key.rank() == 3 && value.rank() == 3 && key.dim(0) == batch && value.dim(0) == batch &&
               key.dim(1) == value.dim(1) && key.dim(2) == H * d && value.dim(2) % H == 0) {
      kv_rows = key.dim(1), dv = value.dim(2) / H;
      kv = ViewRowsOfHeads(key.data<float>(), kv_rows, H * d, d);
      vv = ViewRowsOfHeads(value.data<float>(), kv_rows, H * dv, dv);
    } else if (key.rank() == 4 && value.rank() == 4 && key.dim(0) == batch && key.dim(1) == H && key.dim(3) == d &&
               value.dim(0) == batch && value.dim(1) == H && value.dim(2) == key.dim(2)) {
      kv_rows = key.dim(2), dv = value.dim(3), kv_split = true;
      kv = ViewHeadsOfRows(key.data<float>(), H, kv_rows, d);
      vv = ViewHeadsOfRows(value.data<float>(), H, kv_rows, dv);
    } else {
      return KernelContext::Error("key " + ShapeToString(key.shape()) + " and value " + ShapeToString(value.shape()) +
                                  " fit none of [batch, kv_seq, num_heads * head_size], [batch, num_heads, kv_seq, " +
                                  "head_size] or packed [batch, kv_seq, num_heads, 2, head_size] for query " +
                                  ShapeToString(query.shape()));
    }
  } else {
    return KernelContext::Error(
        "query must be [batch, seq, num_heads * head_size] or packed [batch, seq, num_heads, 3, "
        "head_size], got " +
        ShapeToString(query.shape()) + " with num_heads " + std::to_string(H));
  }
  if (bias.defined() && (kv_split || bias.shape() != Shape{H * (2 * d + dv)})) {
    return KernelContext::Error("bias " + ShapeToString(bias.shape()) + " must be [" +
                                std::to_string(H * (2 * d + dv)) +
                                "] and needs key and value of [batch, kv_seq, hidden]");
  }
  const float* bq = bias.defined() ? bias.data<float>() : nullptr;
  Tensor q_staged;
  if (bq) {
    TS_ASSIGN_OR_RETURN(q_staged, Tensor::AllocateUninitialized(DType::kFloat32, {batch, H, seq, d}));
    GatherHeads(qv, batch, H, seq, d, bq, q_staged.data<float>());
    qv = ViewHeadsOfRows(q_staged.data<float>(), H, seq, d);
  }
  // New keys and values (bias added) in [B, H, L, D] order, then after the cache in the present buffers.
  Tensor k_new, v_new;
  TS_ASSIGN_OR_RETURN(k_new, Tensor::AllocateUninitialized(DType::kFloat32, {batch, H, kv_rows, d}));
  TS_ASSIGN_OR_RETURN(v_new, Tensor::AllocateUninitialized(DType::kFloat32, {batch, H, kv_rows, dv}));
  GatherHeads(kv, batch, H, kv_rows, d, bq ? bq + H * d : nullptr, k_new.data<float>());
  GatherHeads(vv, batch, H, kv_rows, dv, bq ? bq + 2 * H * d : nullptr, v_new.data<float>());
  int64_t past = 0;
  Tensor past_k, past_v;
  if (ctx.has_input(6) != ctx.has_input(7)) return KernelContext::Error("past_key and past_value come together");
  if (ctx.has_input(6)) {
    TS_ASSIGN_OR_RETURN(past_k, AttentionFloat32(ctx.input(6), "past_key"));
    TS_ASSIGN_OR_RETURN(past_v, AttentionFloat32(ctx.input(7), "past_value"));
    past = past_k.rank() == 4 ? past_k.dim(2) : -1;
    if (kv_split || past < 0 || past_k.shape() != Shape{batch, H, past, d} ||
        past_v.shape() != Shape{batch, H, past, dv}) {
      return KernelContext::Error("past_key " + ShapeToString(past_k.shape()) + " and past_value " +
                                  ShapeToString(past_v.shape()) + " must be [batch, num_heads, past, head_size] " +
                                  "(and key/value [batch, kv_seq, hidden])");
    }
  }
  const int64_t total = past + kv_rows;
  const DType dtype = ctx.input(0).dtype();
  TS_ASSIGN_OR_RETURN(Tensor present_k, AttentionOutputStorage(ctx, 1, dtype, {batch, H, total, d}));
  TS_ASSIGN_OR_RETURN(Tensor present_v, AttentionOutputStorage(ctx, 2, dtype, {batch, H, total, dv}));
  ConcatKvCache(past ? past_k.data<float>() : nullptr, past, ViewHeadsOfRows(k_new.data<float>(), H, kv_rows, d),
                kv_rows, batch, H, d, present_k.data<float>());
  ConcatKvCache(past ? past_v.data<float>() : nullptr, past, ViewHeadsOfRows(v_new.data<float>(), H, kv_rows, dv),
                kv_rows, batch, H, dv, present_v.data<float>());

  AttentionParams p;
  p.shape = {batch, H, H, seq, total, d, dv};
  p.scale = scale_ != 0.0f ? scale_ : 1.0f / std::sqrt(static_cast<float>(d));
  p.masking.causal = causal_;
  p.masking.offset = past;
  Tensor pad_storage, bias_storage, sum_storage;
  AttentionBias pad, attn_bias;
  if (ctx.has_input(4)) {
    TS_ASSIGN_OR_RETURN(pad, KeyPaddingBias(ctx.input(4), batch, seq, total, filter_, "key_padding_mask", pad_storage));
  }
  if (ctx.has_input(5)) {
    TS_ASSIGN_OR_RETURN(attn_bias,
                        BroadcastAttentionBias(ctx.input(5), batch, H, seq, total, "attention_bias", bias_storage));
  }
  if (pad.data && attn_bias.data) {
    TS_ASSIGN_OR_RETURN(p.bias, SumAttentionBiases(pad, attn_bias, batch, H, seq, total, sum_storage));
  } else {
    p.bias = pad.data ? pad : attn_bias;
  }
  TS_ASSIGN_OR_RETURN(Tensor y, AttentionOutputStorage(ctx, 0, dtype, {batch, seq, H * dv}));
  RunScaledDotProductAttention(p, qv, ViewHeadsOfRows(present_k.data<float>(), H, total, d),
                               ViewHeadsOfRows(present_v.data<float>(), H, total, dv),
                               OutputRowsOfHeads(y.data<float>(), seq, H, dv), ctx.pool());
  TS_RETURN_IF_ERROR(FinishAttentionOutput(ctx, 0, dtype, y));
  TS_RETURN_IF_ERROR(FinishAttentionOutput(ctx, 1, dtype, present_k));
  return FinishAttentionOutput(ctx, 2, dtype, present_v);
}

}  // namespace

KernelFactory MultiHeadAttentionFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    auto kernel = std::make_unique<MultiHeadAttentionKernel>(init.node);
    TS_RETURN_IF_ERROR(kernel->Validate());
    return std::unique_ptr<Kernel>(std::move(kernel));
  };
}

}  // namespace tessera
