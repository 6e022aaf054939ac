// ONNX Attention (opset 23; opset 24 adds nonpad_kv_seqlen): Q, K, V as 4-D [B, heads, S, D] or 3-D
// [B, S, heads*D] (then q_num_heads / kv_num_heads say how to split), an optional attn_mask (bool: true
// attends; float: added) broadcast to [B, q_heads, S, total], past_key/past_value [B, kv_heads, P, D]
// giving present_key/present_value [B, kv_heads, P + L, D], is_causal, scale (default 1/sqrt(D)),
// softcap, and the optional qk_matmul_output at the stage qk_matmul_output_mode names.
//
// The spec's function adds the mask and then softcaps, so a key a boolean mask hides would get
// -softcap, not -inf; ONNX Runtime softcaps first and then adds the mask, keeping hidden keys hidden, and
// so does this kernel (tests/ort_ops checks it). softmax_precision is accepted and ignored: the core
// computes in float32 for every input type.
#include <cmath>
#include <string>

#include "ops/cpu/attention/attention_kernels.h"
#include "ops/cpu/attention/attention_tensors.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

struct Layout {
  bool rank3 = false;
  int64_t batch = 0, heads = 0, rows = 0, dim = 0;
};

Status ReadLayout(const Tensor& t, const char* what, int64_t heads_attr, const char* heads_name, Layout& out) {
  if (t.rank() == 4) {
    out = {false, t.dim(0), t.dim(1), t.dim(2), t.dim(3)};
  } else if (t.rank() == 3) {
    if (heads_attr <= 0) {
      return KernelContext::Error(std::string(what) + " is 3-D " + ShapeToString(t.shape()) + ": attribute '" +
                                  heads_name + "' must give its number of heads");
    }
    if (t.dim(2) % heads_attr != 0) {
      return KernelContext::Error(std::string(what) + " hidden size " + std::to_string(t.dim(2)) +
                                  " is not a multiple of " + heads_name + " = " + std::to_string(heads_attr));
    }
    out = {true, t.dim(0), heads_attr, t.dim(1), t.dim(2) / heads_attr};
  } else {
    return KernelContext::Error(std::string(what) +
                                " must be 3-D [batch, seq, heads*dim] or 4-D [batch, heads, seq, "
                                "dim], got " +
                                ShapeToString(t.shape()));
  }
  if (out.dim <= 0) return KernelContext::Error(std::string(what) + " has an empty head dim");
  return Status::Ok();
}

AttentionInput View(const Tensor& t, const Layout& l) {
  return l.rank3 ? ViewRowsOfHeads(t.data<float>(), l.rows, l.heads * l.dim, l.dim)
                 : ViewHeadsOfRows(t.data<float>(), l.heads, l.rows, l.dim);
}

class OnnxAttentionKernel : public Kernel {
 public:
  explicit OnnxAttentionKernel(const Node& node)
      : causal_(node.GetInt("is_causal", 0) != 0),
        q_heads_(node.GetInt("q_num_heads", 0)),
        kv_heads_(node.GetInt("kv_num_heads", 0)),
        mode_(node.GetInt("qk_matmul_output_mode", 0)),
        has_scale_(node.HasAttribute("scale")),
        scale_(node.GetFloat("scale", 1.0f)),
        softcap_(node.GetFloat("softcap", 0.0f)) {}

  Status Validate() const {
    if (mode_ < 0 || mode_ > 3) {
      return KernelContext::Error("attribute 'qk_matmul_output_mode' must be 0 to 3, got " + std::to_string(mode_));
    }
    if (softcap_ < 0.0f || !std::isfinite(softcap_)) {
      return KernelContext::Error("attribute 'softcap' must be a finite value >= 0, got " + std::to_string(softcap_));
    }
    if (q_heads_ < 0 || kv_heads_ < 0) return KernelContext::Error("q_num_heads and kv_num_heads must be positive");
    return Status::Ok();
  }

  Status Run(KernelContext& ctx) override;

 private:
  bool causal_;
  int64_t q_heads_, kv_heads_, mode_;
  bool has_scale_;
  float scale_, softcap_;
};

Status OnnxAttentionKernel::Run(KernelContext& ctx) {
  TS_ASSIGN_OR_RETURN(Tensor q, AttentionFloat32(ctx.input(0), "Q"));
  TS_ASSIGN_OR_RETURN(Tensor k, AttentionFloat32(ctx.input(1), "K"));
  TS_ASSIGN_OR_RETURN(Tensor v, AttentionFloat32(ctx.input(2), "V"));
  Layout ql, kl, vl;
  TS_RETURN_IF_ERROR(ReadLayout(q, "Q", q_heads_, "q_num_heads", ql));
  TS_RETURN_IF_ERROR(ReadLayout(k, "K", kv_heads_, "kv_num_heads", kl));
  TS_RETURN_IF_ERROR(ReadLayout(v, "V", kv_heads_, "kv_num_heads", vl));
  if (kl.batch != ql.batch || vl.batch != ql.batch || vl.heads != kl.heads || vl.rows != kl.rows) {
    return KernelContext::Error("Q " + ShapeToString(q.shape()) + ", K " + ShapeToString(k.shape()) + " and V " +
                                ShapeToString(v.shape()) + " disagree on batch, kv heads or kv sequence length");
  }
  if (kl.dim != ql.dim) {
    return KernelContext::Error("Q head size " + std::to_string(ql.dim) + " differs from K's " +
                                std::to_string(kl.dim));
  }
  if (kl.heads <= 0 || ql.heads % kl.heads != 0) {
    return KernelContext::Error("q_num_heads " + std::to_string(ql.heads) + " is not a multiple of kv_num_heads " +
                                std::to_string(kl.heads));
  }
  const bool has_past = ctx.has_input(4) || ctx.has_input(5);
  if (ctx.has_input(4) != ctx.has_input(5)) return KernelContext::Error("past_key and past_value come together");
  Tensor past_k, past_v;
  int64_t past = 0;
  if (has_past) {
    TS_ASSIGN_OR_RETURN(past_k, AttentionFloat32(ctx.input(4), "past_key"));
    TS_ASSIGN_OR_RETURN(past_v, AttentionFloat32(ctx.input(5), "past_value"));
    const Shape want_k{kl.batch, kl.heads, past_k.rank() == 4 ? past_k.dim(2) : -1, kl.dim};
    if (past_k.rank() != 4 || past_k.shape() != want_k) {
      return KernelContext::Error("past_key " + ShapeToString(past_k.shape()) + " must be [batch, kv_heads, past, " +
                                  "head_size] = [" + std::to_string(kl.batch) + ", " + std::to_string(kl.heads) +
                                  ", past, " + std::to_string(kl.dim) + "]");
    }
    past = past_k.dim(2);
    if (past_v.shape() != Shape{kl.batch, kl.heads, past, vl.dim}) {
      return KernelContext::Error("past_value " + ShapeToString(past_v.shape()) + " does not match past_key " +
                                  ShapeToString(past_k.shape()) + " and V's head size " + std::to_string(vl.dim));
    }
  }
  const int64_t total = past + kl.rows;
  // The core reads K and V from the present tensors (past then new), which are outputs when asked for.
  const DType dtype = ctx.input(0).dtype();
  TS_ASSIGN_OR_RETURN(Tensor present_k, AttentionOutputStorage(ctx, 1, dtype, {kl.batch, kl.heads, total, kl.dim}));
  TS_ASSIGN_OR_RETURN(Tensor present_v, AttentionOutputStorage(ctx, 2, dtype, {kl.batch, kl.heads, total, vl.dim}));
  ConcatKvCache(has_past ? past_k.data<float>() : nullptr, past, View(k, kl), kl.rows, kl.batch, kl.heads, kl.dim,
                present_k.data<float>());
  ConcatKvCache(has_past ? past_v.data<float>() : nullptr, past, View(v, vl), vl.rows, vl.batch, vl.heads, vl.dim,
                present_v.data<float>());

  AttentionParams p;
  p.shape = {ql.batch, ql.heads, kl.heads, ql.rows, total, ql.dim, vl.dim};
  p.scale = has_scale_ ? scale_ : 1.0f / std::sqrt(static_cast<float>(ql.dim));
  p.softcap = softcap_;
  p.masking.causal = causal_;
  p.masking.offset = past;  // the new rows follow the cache: the diagonal ends at the bottom right
  Tensor mask_storage;
  if (ctx.has_input(3)) {
    TS_ASSIGN_OR_RETURN(
        p.bias, BroadcastAttentionBias(ctx.input(3), ql.batch, ql.heads, ql.rows, total, "attn_mask", mask_storage));
  }
  std::vector<int64_t> valid;
  if (ctx.input_count() > 6 && ctx.has_input(6)) {
    TS_ASSIGN_OR_RETURN(valid, ReadInt64Values(ctx.input(6), "nonpad_kv_seqlen"));
    if (static_cast<int64_t>(valid.size()) != ql.batch) {
      return KernelContext::Error("nonpad_kv_seqlen has " + std::to_string(valid.size()) + " values for batch " +
                                  std::to_string(ql.batch));
    }
    p.masking.valid_keys = valid.data();
  }
  Tensor scores;
  if (ctx.wants_output(3)) {
    TS_ASSIGN_OR_RETURN(scores, AttentionOutputStorage(ctx, 3, dtype, {ql.batch, ql.heads, ql.rows, total}));
    p.scores_out = scores.data<float>();
    p.scores_stage = static_cast<ScoresStage>(mode_);
  }
  const Shape y_shape =
      ql.rank3 ? Shape{ql.batch, ql.rows, ql.heads * vl.dim} : Shape{ql.batch, ql.heads, ql.rows, vl.dim};
  TS_ASSIGN_OR_RETURN(Tensor y, AttentionOutputStorage(ctx, 0, dtype, y_shape));
  const AttentionOutput out = ql.rank3 ? OutputRowsOfHeads(y.data<float>(), ql.rows, ql.heads, vl.dim)
                                       : OutputHeadsOfRows(y.data<float>(), ql.heads, ql.rows, vl.dim);
  RunScaledDotProductAttention(p, View(q, ql), ViewHeadsOfRows(present_k.data<float>(), kl.heads, total, kl.dim),
                               ViewHeadsOfRows(present_v.data<float>(), kl.heads, total, vl.dim), out, ctx.pool());

  TS_RETURN_IF_ERROR(FinishAttentionOutput(ctx, 0, dtype, y));
  TS_RETURN_IF_ERROR(FinishAttentionOutput(ctx, 1, dtype, present_k));
  TS_RETURN_IF_ERROR(FinishAttentionOutput(ctx, 2, dtype, present_v));
  return scores.defined() ? FinishAttentionOutput(ctx, 3, dtype, scores) : Status::Ok();
}

}  // namespace

KernelFactory OnnxAttentionFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    auto kernel = std::make_unique<OnnxAttentionKernel>(init.node);
    TS_RETURN_IF_ERROR(kernel->Validate());
    return std::unique_ptr<Kernel>(std::move(kernel));
  };
}

}  // namespace tessera
