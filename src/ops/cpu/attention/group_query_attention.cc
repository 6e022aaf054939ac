// com.microsoft GroupQueryAttention, as ONNX Runtime defines it (the op ORT GenAI's decoders use):
//   query [B, S, H*D] (or packed [B, S, (H + 2*Hkv)*D] when key and value are absent), key/value
//   [B, S, Hkv*D], past_key/past_value [B, Hkv, P, D], seqlens_k int32 [B], total_sequence_length int32
//   scalar, cos_cache/sin_cache [max_position, rotary_dim / 2] with do_rotary, position_ids [B, S];
//   outputs output [B, S, H*D] and present_key/present_value [B, Hkv, max(P, total), D].
//
// Per batch row b the sequence holds seqlens_k[b] + 1 tokens in all. On the first prompt (S equals
// total_sequence_length) nothing is cached and shorter rows are right-padded; otherwise the S new tokens
// are the last ones, following past_b = seqlens_k[b] + 1 - S cached tokens. New keys and values are
// written to the present buffers at past_b (after rotary when do_rotary); query row s of batch b sits at
// position past_b + s, attends causally to its row's tokens (the last local_window_size of them when
// set; a right-padded row's padding queries see only the real tokens before them), and its rotary
// angle is that position unless position_ids says otherwise. Softcap applies to the scaled scores before
// masking. Rows of the present buffers past a batch row's tokens are zero.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "ops/cpu/attention/attention_kernels.h"
#include "ops/cpu/attention/attention_tensors.h"
#include "ops/cpu/attention/rotary.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

class GroupQueryAttentionKernel : public Kernel {
 public:
  explicit GroupQueryAttentionKernel(const Node& node)
      : heads_(node.GetInt("num_heads", 0)),
        kv_heads_(node.GetInt("kv_num_heads", 0)),
        window_(node.GetInt("local_window_size", -1)),
        rotary_(node.GetInt("do_rotary", 0) != 0),
        interleaved_(node.GetInt("rotary_interleaved", 0) != 0),
        smooth_(node.GetInt("smooth_softmax", 0) != 0),
        qk_output_(node.GetInt("qk_output", 0)),
        scale_(node.GetFloat("scale", 0.0f)),
        softcap_(node.GetFloat("softcap", 0.0f)) {}

  Status Validate() const {
    if (heads_ <= 0 || kv_heads_ <= 0 || heads_ % kv_heads_ != 0) {
      return KernelContext::Error("num_heads (" + std::to_string(heads_) + ") must be a positive multiple of " +
                                  "kv_num_heads (" + std::to_string(kv_heads_) + ")");
    }
    if (softcap_ < 0.0f || !std::isfinite(softcap_)) return KernelContext::Error("attribute 'softcap' must be >= 0");
    if (smooth_) return Unimplemented("smooth_softmax = 1 is not supported");
    if (qk_output_ != 0) return Unimplemented("qk_output != 0 is not supported");
    return Status::Ok();
  }

  Status Run(KernelContext& ctx) override;

 private:
  int64_t heads_, kv_heads_, window_;
  bool rotary_, interleaved_, smooth_;
  int64_t qk_output_;
  float scale_, softcap_;
};

Status GroupQueryAttentionKernel::Run(KernelContext& ctx) {
  for (size_t i : {size_t{10}, size_t{11}}) {
    if (ctx.input_count() > i && ctx.has_input(i)) {
      return Unimplemented(std::string(i == 10 ? "attention_bias" : "head_sink") + " is not supported");
    }
  }
  TS_ASSIGN_OR_RETURN(Tensor query, AttentionFloat32(ctx.input(0), "query"));
  if (query.rank() != 3)
    return KernelContext::Error("query must be [batch, seq, hidden], got " + ShapeToString(query.shape()));
  const bool packed = !ctx.has_input(1);
  if (packed == ctx.has_input(2)) return KernelContext::Error("key and value are given together or not at all");
  const int64_t batch = query.dim(0), seq = query.dim(1), width = query.dim(2);
  const int64_t head = width / (packed ? heads_ + 2 * kv_heads_ : heads_);
  if (head <= 0 || head * (packed ? heads_ + 2 * kv_heads_ : heads_) != width) {
    return KernelContext::Error("query hidden size " + std::to_string(width) + " is not " +
                                (packed ? "(num_heads + 2 * kv_num_heads)" : "num_heads") + " times a head size");
  }
  Tensor key, value;
  if (!packed) {
    TS_ASSIGN_OR_RETURN(key, AttentionFloat32(ctx.input(1), "key"));
    TS_ASSIGN_OR_RETURN(value, AttentionFloat32(ctx.input(2), "value"));
    const Shape want{batch, seq, kv_heads_ * head};
    if (key.shape() != want || value.shape() != want) {
      return KernelContext::Error("key " + ShapeToString(key.shape()) + " and value " + ShapeToString(value.shape()) +
                                  " must be [batch, seq, kv_num_heads * head_size] = " + ShapeToString(want));
    }
  }
  if (!ctx.has_input(5) || !ctx.has_input(6))
    return KernelContext::Error("seqlens_k and total_sequence_length are required");
  const Tensor& seqlens = ctx.input(5);
  if (seqlens.dtype() != DType::kInt32 || seqlens.element_count() != batch || seqlens.rank() > 1) {
    return KernelContext::Error("seqlens_k must be int32 [batch] = [" + std::to_string(batch) + "], got " +
                                DTypeName(seqlens.dtype()) + " " + ShapeToString(seqlens.shape()));
  }
  if (ctx.input(6).dtype() != DType::kInt32 || ctx.input(6).element_count() != 1) {
    return KernelContext::Error("total_sequence_length must be an int32 scalar");
  }
  const int64_t total = ctx.input(6).data<int32_t>()[0];
  Tensor past_k, past_v;
  int64_t past = 0;
  const bool has_past = ctx.has_input(3);
  if (has_past != ctx.has_input(4)) return KernelContext::Error("past_key and past_value come together");
  if (has_past) {
    TS_ASSIGN_OR_RETURN(past_k, AttentionFloat32(ctx.input(3), "past_key"));
    TS_ASSIGN_OR_RETURN(past_v, AttentionFloat32(ctx.input(4), "past_value"));
    past = past_k.rank() == 4 ? past_k.dim(2) : -1;
    const Shape want{batch, kv_heads_, past, head};
    if (past < 0 || past_k.shape() != want || past_v.shape() != want) {
      return KernelContext::Error("past_key " + ShapeToString(past_k.shape()) + " and past_value " +
                                  ShapeToString(past_v.shape()) + " must be [batch, kv_num_heads, past, head_size]");
    }
  }
  const int64_t present_rows = std::max(total, past);
  const bool first_prompt = seq == total;
  std::vector<int64_t> past_len(static_cast<size_t>(batch)), tokens_of(static_cast<size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t tokens = int64_t{seqlens.data<int32_t>()[b]} + 1;
    const int64_t p = first_prompt ? 0 : tokens - seq;
    if (tokens < 1 || tokens > present_rows || p < 0 || p > past) {
      return KernelContext::Error("seqlens_k[" + std::to_string(b) + "] = " + std::to_string(tokens - 1) +
                                  " does not fit " + std::to_string(seq) + " new tokens, a past of " +
                                  std::to_string(past) + " and total_sequence_length " + std::to_string(total));
    }
    past_len[static_cast<size_t>(b)] = p;
    tokens_of[static_cast<size_t>(b)] = tokens;
  }
  // Rotary tables and the position of each new token.
  Tensor cos, sin;
  int64_t rotary_dim = 0;
  std::vector<int64_t> positions(static_cast<size_t>(batch * seq));
  for (int64_t i = 0; i < batch * seq; ++i)
    positions[static_cast<size_t>(i)] = past_len[static_cast<size_t>(i / seq)] + i % seq;
  if (rotary_) {
    if (!ctx.has_input(7) || !ctx.has_input(8)) return KernelContext::Error("do_rotary needs cos_cache and sin_cache");
    TS_ASSIGN_OR_RETURN(cos, AttentionFloat32(ctx.input(7), "cos_cache"));
    TS_ASSIGN_OR_RETURN(sin, AttentionFloat32(ctx.input(8), "sin_cache"));
    if (cos.rank() != 2 || cos.shape() != sin.shape() || 2 * cos.dim(1) > head || cos.dim(1) == 0) {
      return KernelContext::Error(
          "cos_cache " + ShapeToString(cos.shape()) + " and sin_cache " + ShapeToString(sin.shape()) +
          " must both be [max_position, rotary_dim / 2] with rotary_dim <= head size " + std::to_string(head));
    }
    rotary_dim = 2 * cos.dim(1);
    if (ctx.input_count() > 9 && ctx.has_input(9)) {
      if (ctx.input(9).shape() != Shape{batch, seq}) {
        return KernelContext::Error("position_ids must be [batch, seq], got " + ShapeToString(ctx.input(9).shape()));
      }
      TS_ASSIGN_OR_RETURN(positions, ReadInt64Values(ctx.input(9), "position_ids"));
    }
    for (int64_t pos : positions) {
      if (pos < 0 || pos >= cos.dim(0)) {
        return KernelContext::Error("rotary position " + std::to_string(pos) + " is outside cos_cache's " +
                                    std::to_string(cos.dim(0)) + " rows");
      }
    }
  }
  const float* qd = query.data<float>();
  const int64_t kv_width = packed ? width : kv_heads_ * head;
  const float* kd = packed ? qd + heads_ * head : key.data<float>();
  const float* vd = packed ? qd + (heads_ + kv_heads_) * head : value.data<float>();
  // Present buffers: the cached rows, then the new ones (rotated keys), zeros after.
  const DType dtype = ctx.input(0).dtype();
  const Shape present_shape{batch, kv_heads_, present_rows, head};
  // The shared buffer of ORT GenAI: past is already present-sized. When the caller donated it and this
  // node alone reads it, the new rows go straight into it and it is returned as present, so a decode
  // step writes one row per head instead of copying (and zero-filling) the whole buffer.
  const bool in_place = has_past && past == present_rows && ctx.input(3).dtype() == DType::kFloat32 &&
                        ctx.input(4).dtype() == DType::kFloat32 && ctx.input_writable(3) && ctx.input_writable(4);
  Tensor present_k, present_v;
  if (in_place) {
    present_k = past_k;
    present_v = past_v;
  } else {
    TS_ASSIGN_OR_RETURN(present_k, AttentionOutputStorage(ctx, 1, dtype, present_shape));
    TS_ASSIGN_OR_RETURN(present_v, AttentionOutputStorage(ctx, 2, dtype, present_shape));
  }
  auto rotate = [&](const float* src, float* dst, int64_t token) {
    if (!rotary_) return static_cast<void>(std::memcpy(dst, src, static_cast<size_t>(head) * sizeof(float)));
    const int64_t row = positions[static_cast<size_t>(token)];
    RotateHead(src, dst, head, rotary_dim, cos.data<float>() + row * cos.dim(1), sin.data<float>() + row * cos.dim(1),
               interleaved_);
  };
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t p = past_len[static_cast<size_t>(b)];
    for (int64_t h = 0; h < kv_heads_; ++h) {
      float* pk = present_k.data<float>() + (b * kv_heads_ + h) * present_rows * head;
      float* pv = present_v.data<float>() + (b * kv_heads_ + h) * present_rows * head;
      if (p > 0 && !in_place) {
        const size_t bytes = static_cast<size_t>(p * head) * sizeof(float);
        std::memcpy(pk, past_k.data<float>() + (b * kv_heads_ + h) * past * head, bytes);
        std::memcpy(pv, past_v.data<float>() + (b * kv_heads_ + h) * past * head, bytes);
      }
      for (int64_t s = 0; s < seq && p + s < present_rows; ++s) {
        const int64_t at = (b * seq + s) * kv_width + h * head;
        rotate(kd + at, pk + (p + s) * head, b * seq + s);
        std::memcpy(pv + (p + s) * head, vd + at, static_cast<size_t>(head) * sizeof(float));
      }
      // Zeros after this row's tokens (only these rows: zeroing the whole buffer would double the writes
      // of a decode step, which is a copy of the cache).
      if (in_place) continue;  // rows past the tokens are never read (valid_keys), so they keep what they hold
      const int64_t end = std::min(present_rows, p + seq);
      std::fill(pk + end * head, pk + present_rows * head, 0.0f);
      std::fill(pv + end * head, pv + present_rows * head, 0.0f);
    }
  }
  AttentionInput q_view = ViewRowsOfHeads(qd, seq, width, head);
  Tensor q_rot;
  if (rotary_) {
    TS_ASSIGN_OR_RETURN(q_rot, Tensor::AllocateUninitialized(DType::kFloat32, {batch, seq, heads_ * head}));
    for (int64_t t = 0; t < batch * seq; ++t) {
      for (int64_t h = 0; h < heads_; ++h)
        rotate(qd + t * width + h * head, q_rot.data<float>() + (t * heads_ + h) * head, t);
    }
    q_view = ViewRowsOfHeads(q_rot.data<float>(), seq, heads_ * head, head);
  }
  AttentionParams params;
  params.shape = {batch, heads_, kv_heads_, seq, present_rows, head, head};
  params.scale = scale_ != 0.0f ? scale_ : 1.0f / std::sqrt(static_cast<float>(head));
  params.softcap = softcap_;
  params.masking.causal = true;
  params.masking.query_offset = past_len.data();
  params.masking.window = window_;
  params.masking.valid_keys = tokens_of.data();  // a padded prompt row sees its row's tokens only
  TS_ASSIGN_OR_RETURN(Tensor y, AttentionOutputStorage(ctx, 0, dtype, {batch, seq, heads_ * head}));
  RunScaledDotProductAttention(params, q_view, ViewHeadsOfRows(present_k.data<float>(), kv_heads_, present_rows, head),
                               ViewHeadsOfRows(present_v.data<float>(), kv_heads_, present_rows, head),
                               OutputRowsOfHeads(y.data<float>(), seq, heads_, head), ctx.pool());
  TS_RETURN_IF_ERROR(FinishAttentionOutput(ctx, 0, dtype, y));
  if (in_place) {
    ctx.SetOutput(1, present_k);
    ctx.SetOutput(2, present_v);
    return Status::Ok();
  }
  TS_RETURN_IF_ERROR(FinishAttentionOutput(ctx, 1, dtype, present_k));
  return FinishAttentionOutput(ctx, 2, dtype, present_v);
}

}  // namespace

KernelFactory GroupQueryAttentionFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    auto kernel = std::make_unique<GroupQueryAttentionKernel>(init.node);
    TS_RETURN_IF_ERROR(kernel->Validate());
    return std::unique_ptr<Kernel>(std::move(kernel));
  };
}

}  // namespace tessera
