// com.microsoft Attention, the BERT-style form with the Q, K and V projections fused into one weight:
//   input [B, S, hidden_in] x weights [hidden_in, q + k + v] + bias [q + k + v] gives Q, K and V
//   (qkv_hidden_sizes gives q, k, v; default three equal thirds); mask_index int32 in ORT's [B], [2B],
//   [B, total] and [B, S, total] forms (masked keys get mask_filter_value); past [2, B, H, P, D] gives
//   present [2, B, H, P + S, D]; attention_bias [B or 1, H or 1, S, total]; unidirectional is causal with
//   the new rows after the cache; scale defaults to 1/sqrt(head_size).
// The projection is a plain row-times-matrix loop over the B*S rows in parallel (vectorised over the
// output columns); the weights are read as the model holds them.
#include <cmath>
#include <cstring>
#include <string>

#include "ops/cpu/attention/attention_kernels.h"
#include "ops/cpu/attention/attention_tensors.h"

namespace tessera {
namespace {

void Project(const float* x, const float* w, const float* bias, int64_t rows, int64_t in, int64_t out, float* y,
             ThreadPool& pool) {
  pool.ParallelFor(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, in * out)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      float* yr = y + r * out;
      for (int64_t c = 0; c < out; ++c) yr[c] = bias ? bias[c] : 0.0f;
      for (int64_t k = 0; k < in; ++k) {
        const float xk = x[r * in + k];
        const float* wk = w + k * out;
#pragma omp simd
        for (int64_t c = 0; c < out; ++c) yr[c] += xk * wk[c];
      }
    }
  });
}

class BertAttentionKernel : public Kernel {
 public:
  explicit BertAttentionKernel(const Node& node)
      : heads_(node.GetInt("num_heads", 0)),
        causal_(node.GetInt("unidirectional", 0) != 0),
        sizes_(node.GetInts("qkv_hidden_sizes")),
        filter_(node.GetFloat("mask_filter_value", -10000.0f)),
        scale_(node.GetFloat("scale", 0.0f)),
        rotary_(node.GetInt("do_rotary", 0) != 0),
        share_buffer_(node.GetInt("past_present_share_buffer", 0) != 0) {}

  Status Validate() const {
    if (heads_ <= 0)
      return KernelContext::Error("attribute 'num_heads' must be positive, got " + std::to_string(heads_));
    if (!sizes_.empty() && (sizes_.size() != 3 || sizes_[0] != sizes_[1] || sizes_[0] <= 0 || sizes_[2] <= 0 ||
                            sizes_[0] % heads_ != 0 || sizes_[2] % heads_ != 0)) {
      return KernelContext::Error(
          "attribute 'qkv_hidden_sizes' must be three positive sizes, q = k, each a multiple "
          "of num_heads " +
          std::to_string(heads_));
    }
    if (rotary_) return Unimplemented("do_rotary = 1 is not supported");
    if (share_buffer_) return Unimplemented("past_present_share_buffer = 1 is not supported");
    return Status::Ok();
  }

  Status Run(KernelContext& ctx) override;

 private:
  int64_t heads_;
  bool causal_;
  std::vector<int64_t> sizes_;
  float filter_, scale_;
  bool rotary_, share_buffer_;
};

Status BertAttentionKernel::Run(KernelContext& ctx) {
  const int64_t H = heads_;
  TS_ASSIGN_OR_RETURN(Tensor input, AttentionFloat32(ctx.input(0), "input"));
  TS_ASSIGN_OR_RETURN(Tensor weights, AttentionFloat32(ctx.input(1), "weights"));
  if (input.rank() != 3 || weights.rank() != 2 || weights.dim(0) != input.dim(2)) {
    return KernelContext::Error("input " + ShapeToString(input.shape()) +
                                " must be [batch, seq, hidden_in] and weights " + ShapeToString(weights.shape()) +
                                " [hidden_in, q + k + v]");
  }
  const int64_t batch = input.dim(0), seq = input.dim(1), in = input.dim(2), width = weights.dim(1);
  const int64_t qh = sizes_.empty() ? width / 3 : sizes_[0], vh = sizes_.empty() ? width / 3 : sizes_[2];
  if (2 * qh + vh != width || qh % H != 0 || vh % H != 0 || qh == 0) {
    return KernelContext::Error("weights have " + std::to_string(width) +
                                " columns; q + k + v = " + std::to_string(2 * qh + vh) +
                                " with each a multiple of num_heads " + std::to_string(H));
  }
  Tensor bias;
  if (ctx.has_input(2)) {
    TS_ASSIGN_OR_RETURN(bias, AttentionFloat32(ctx.input(2), "bias"));
    if (bias.shape() != Shape{width}) {
      return KernelContext::Error("bias " + ShapeToString(bias.shape()) + " must be [" + std::to_string(width) + "]");
    }
  }
  const int64_t d = qh / H, dv = vh / H;
  TS_ASSIGN_OR_RETURN(Tensor qkv, Tensor::AllocateUninitialized(DType::kFloat32, {batch, seq, width}));
  Project(input.data<float>(), weights.data<float>(), bias.defined() ? bias.data<float>() : nullptr, batch * seq, in,
          width, qkv.data<float>(), ctx.pool());
  int64_t past = 0;
  Tensor past_kv;
  if (ctx.has_input(4)) {
    TS_ASSIGN_OR_RETURN(past_kv, AttentionFloat32(ctx.input(4), "past"));
    past = past_kv.rank() == 5 ? past_kv.dim(3) : -1;
    if (past < 0 || past_kv.shape() != Shape{2, batch, H, past, d} || d != dv) {
      return KernelContext::Error("past " + ShapeToString(past_kv.shape()) + " must be [2, batch, num_heads, past, " +
                                  "head_size] = [2, " + std::to_string(batch) + ", " + std::to_string(H) + ", past, " +
                                  std::to_string(d) + "] (with k and v of one head size)");
    }
  }
  const int64_t total = past + seq;
  const DType dtype = ctx.input(0).dtype();
  // present holds K then V; with v's head size differing from k's there is no present (ORT has none either).
  Tensor present;
  const bool has_present = ctx.wants_output(1) || past > 0;
  if (has_present && d != dv) return KernelContext::Error("past/present need equal q/k and v head sizes");
  Tensor k_cache, v_cache;
  if (d == dv) {
    TS_ASSIGN_OR_RETURN(present, AttentionOutputStorage(ctx, 1, dtype, {2, batch, H, total, d}));
    const int64_t half = batch * H * total * d;
    k_cache = Tensor(DType::kFloat32, {batch, H, total, d}, present.buffer(), present.offset());
    v_cache = Tensor(DType::kFloat32, {batch, H, total, d}, present.buffer(),
                     present.offset() + static_cast<size_t>(half) * sizeof(float));
  } else {
    TS_ASSIGN_OR_RETURN(k_cache, Tensor::AllocateUninitialized(DType::kFloat32, {batch, H, total, d}));
    TS_ASSIGN_OR_RETURN(v_cache, Tensor::AllocateUninitialized(DType::kFloat32, {batch, H, total, dv}));
  }
  const float* pk = past ? past_kv.data<float>() : nullptr;
  const float* pv = past ? pk + batch * H * past * d : nullptr;
  ConcatKvCache(pk, past, ViewRowsOfHeads(qkv.data<float>(), seq, width, d, qh), seq, batch, H, d,
                k_cache.data<float>());
  ConcatKvCache(pv, past, ViewRowsOfHeads(qkv.data<float>(), seq, width, dv, 2 * qh), seq, batch, H, dv,
                v_cache.data<float>());

  AttentionParams p;
  p.shape = {batch, H, H, seq, total, d, dv};
  p.scale = scale_ != 0.0f ? scale_ : 1.0f / std::sqrt(static_cast<float>(d));
  p.masking.causal = causal_;
  p.masking.offset = past;
  Tensor pad_storage, bias_storage, sum_storage;
  AttentionBias pad, attn_bias;
  if (ctx.has_input(3)) {
    TS_ASSIGN_OR_RETURN(pad, KeyPaddingBias(ctx.input(3), batch, seq, total, filter_, "mask_index", pad_storage));
  }
  if (ctx.input_count() > 5 && ctx.has_input(5)) {
    TS_ASSIGN_OR_RETURN(attn_bias,
                        BroadcastAttentionBias(ctx.input(5), batch, H, seq, total, "attention_bias", bias_storage));
  }
  if (pad.data && attn_bias.data) {
    TS_ASSIGN_OR_RETURN(p.bias, SumAttentionBiases(pad, attn_bias, batch, H, seq, total, sum_storage));
  } else {
    p.bias = pad.data ? pad : attn_bias;
  }
  TS_ASSIGN_OR_RETURN(Tensor y, AttentionOutputStorage(ctx, 0, dtype, {batch, seq, vh}));
  RunScaledDotProductAttention(
      p, ViewRowsOfHeads(qkv.data<float>(), seq, width, d), ViewHeadsOfRows(k_cache.data<float>(), H, total, d),
      ViewHeadsOfRows(v_cache.data<float>(), H, total, dv), OutputRowsOfHeads(y.data<float>(), seq, H, dv), ctx.pool());
  TS_RETURN_IF_ERROR(FinishAttentionOutput(ctx, 0, dtype, y));
  return present.defined() ? FinishAttentionOutput(ctx, 1, dtype, present) : Status::Ok();
}

}  // namespace

KernelFactory BertAttentionFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    auto kernel = std::make_unique<BertAttentionKernel>(init.node);
    TS_RETURN_IF_ERROR(kernel->Validate());
    return std::unique_ptr<Kernel>(std::move(kernel));
  };
}

}  // namespace tessera
