// com.tessera FusedAttention: the node graph/passes/attention_fusion writes for the plain-op attention
// that exporters emit, MatMul(Q, K^T) -> scale -> [Where(condition, ., fill)] -> [+ mask] -> Softmax ->
// MatMul(., V). Inputs: Q [B, H, S, D] (or [H, S, D] or [S, D]), key_t [B, H, D, L] (K already
// transposed, as the MatMul read it; with key_transposed = 0 it is K [B, H, L, D] itself, when the pass
// absorbed the Transpose), V [B, H, L, Dv], with MatMul's broadcasting of batch and head
// dims of 1 (a shared key head is read in place), then optional condition (bool, broadcast to [B, H, S, L]; false keys
// are hidden) and mask (float, added). Attribute scale multiplies the product; the pass only fuses a
// Where whose fill is at most -1e4 (a masked score whose exp is 0 in float32), so hiding the key is the
// same softmax. Output [B, H, S, Dv] like the final MatMul's.
#include <algorithm>
#include <cstring>
#include <string>

#include "ops/cpu/attention/attention_kernels.h"
#include "ops/cpu/attention/attention_tensors.h"

namespace tessera {
namespace {

// Leading dims of a rank 2-4 operand as [batch, heads] (missing ones are 1).
struct Lead {
  int64_t batch = 1, heads = 1;
};
Lead LeadOf(const Tensor& t) {
  if (t.rank() == 4) return {t.dim(0), t.dim(1)};
  if (t.rank() == 3) return {1, t.dim(0)};
  return {};
}

// Replaces `t` by its broadcast to [batch, heads, rows, cols] (from leading dims `l`).
Status Expand(Tensor& t, const Lead& l, int64_t batch, int64_t heads, int64_t rows, int64_t cols) {
  TS_ASSIGN_OR_RETURN(Tensor out, Tensor::AllocateUninitialized(DType::kFloat32, {batch, heads, rows, cols}));
  const size_t bytes = static_cast<size_t>(rows * cols) * sizeof(float);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t from = (l.batch == 1 ? 0 : b) * l.heads + (l.heads == 1 ? 0 : h);
      std::memcpy(out.data<float>() + (b * heads + h) * rows * cols, t.data<float>() + from * rows * cols, bytes);
    }
  }
  t = std::move(out);
  return Status::Ok();
}

class FusedAttentionKernel : public Kernel {
 public:
  explicit FusedAttentionKernel(const Node& node)
      : scale_(node.GetFloat("scale", 1.0f)), key_transposed_(node.GetInt("key_transposed", 1) != 0) {}

  Status Run(KernelContext& ctx) override {
    TS_ASSIGN_OR_RETURN(Tensor q, AttentionFloat32(ctx.input(0), "Q"));
    TS_ASSIGN_OR_RETURN(Tensor kt, AttentionFloat32(ctx.input(1), "key_t"));
    TS_ASSIGN_OR_RETURN(Tensor v, AttentionFloat32(ctx.input(2), "V"));
    for (const Tensor* t : {&q, &kt, &v}) {
      if (t->rank() < 2 || t->rank() > 4) {
        return KernelContext::Error("Q " + ShapeToString(q.shape()) + ", key_t " + ShapeToString(kt.shape()) +
                                    " and V " + ShapeToString(v.shape()) + " must have rank 2 to 4");
      }
    }
    // Leading dims as MatMul broadcasts them, padded to [batch, heads].
    const Lead ql = LeadOf(q), kl = LeadOf(kt), vl = LeadOf(v);
    const int64_t batch = std::max({ql.batch, kl.batch, vl.batch}), heads = std::max({ql.heads, kl.heads, vl.heads});
    const int64_t seq = q.dim(q.rank() - 2), d = q.dim(q.rank() - 1), dv = v.dim(v.rank() - 1);
    const int64_t keys = kt.dim(kt.rank() - (key_transposed_ ? 1 : 2));
    const int64_t key_dim = kt.dim(kt.rank() - (key_transposed_ ? 2 : 1));
    const auto fits = [&](const Lead& l) {
      return (l.batch == batch || l.batch == 1) && (l.heads == heads || l.heads == 1);
    };
    if (!fits(ql) || !fits(kl) || !fits(vl) || key_dim != d || v.dim(v.rank() - 2) != keys) {
      return KernelContext::Error("Q " + ShapeToString(q.shape()) + ", key_t " + ShapeToString(kt.shape()) + " and V " +
                                  ShapeToString(v.shape()) + " do not chain as Q x key_t x V");
    }
    // Queries with every head; keys and values with the same head count (all, or one shared by all).
    if (ql.batch != batch || ql.heads != heads) TS_RETURN_IF_ERROR(Expand(q, ql, batch, heads, seq, d));
    const int64_t kv_heads = kl.heads == vl.heads ? kl.heads : heads;
    Tensor k = kt;
    if (!key_transposed_ && kl.heads != kv_heads) TS_RETURN_IF_ERROR(Expand(k, kl, kl.batch, kv_heads, keys, d));
    if (key_transposed_) {
      TS_ASSIGN_OR_RETURN(k, Tensor::AllocateUninitialized(DType::kFloat32, {kl.batch, kv_heads, keys, d}));
    }
    // K rows, contiguous: the core reads one key as one run of D floats.
    for (int64_t b = 0; key_transposed_ && b < kl.batch; ++b) {
      for (int64_t h = 0; h < kv_heads; ++h) {
        const float* src = kt.data<float>() + (b * kl.heads + (kl.heads == 1 ? 0 : h)) * d * keys;
        float* dst = k.data<float>() + (b * kv_heads + h) * keys * d;
        for (int64_t i = 0; i < d; ++i) {
          for (int64_t j = 0; j < keys; ++j) dst[j * d + i] = src[i * keys + j];
        }
      }
    }
    if (vl.heads != kv_heads) TS_RETURN_IF_ERROR(Expand(v, vl, vl.batch, kv_heads, keys, dv));
    AttentionParams p;
    p.shape = {batch, heads, kv_heads, seq, keys, d, dv};
    p.scale = scale_;
    FusedBiasStorage bias_storage;
    TS_ASSIGN_OR_RETURN(p.bias, FusedConditionAndMask(ctx, batch, heads, seq, keys, bias_storage));
    // The final MatMul's output: the broadcast leading dims of the longest operand, then [S, Dv].
    const int64_t rank = std::max({q.rank(), kt.rank(), v.rank()});
    Shape out_shape = rank == 4 ? Shape{batch, heads} : rank == 3 ? Shape{heads} : Shape{};
    out_shape.push_back(seq);
    out_shape.push_back(dv);
    const DType dtype = ctx.input(0).dtype();
    TS_ASSIGN_OR_RETURN(Tensor y, AttentionOutputStorage(ctx, 0, dtype, out_shape));
    AttentionInput k_view = ViewHeadsOfRows(k.data<float>(), kv_heads, keys, d);
    AttentionInput v_view = ViewHeadsOfRows(v.data<float>(), kv_heads, keys, dv);
    if (kl.batch == 1) k_view.batch_stride = 0;
    if (vl.batch == 1) v_view.batch_stride = 0;
    RunScaledDotProductAttention(p, ViewHeadsOfRows(q.data<float>(), heads, seq, d), k_view, v_view,
                                 OutputHeadsOfRows(y.data<float>(), heads, seq, dv), ctx.pool());
    return FinishAttentionOutput(ctx, 0, dtype, y);
  }

 private:
  float scale_;
  bool key_transposed_;
};

}  // namespace

KernelFactory FusedAttentionFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<FusedAttentionKernel>(init.node));
  };
}

}  // namespace tessera
