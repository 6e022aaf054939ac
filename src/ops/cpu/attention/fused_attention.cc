// com.tessera FusedAttention: the node graph/passes/attention_fusion writes for the plain-op attention
// that exporters emit, MatMul(Q, K^T) -> scale -> [Where(condition, ., fill)] -> [+ mask] -> Softmax ->
// MatMul(., V). Inputs: Q [B, H, S, D] (or [N, S, D]), key_t [B, Hk, D, L] (K already transposed, as the
// MatMul read it), V [B, Hk, L, Dv], then optional condition (bool, broadcast to [B, H, S, L]; false keys
// are hidden) and mask (float, added). Attribute scale multiplies the product; the pass only fuses a
// Where whose fill is at most -1e4 (a masked score whose exp is 0 in float32), so hiding the key is the
// same softmax. Output [B, H, S, Dv] like the final MatMul's.
#include <string>

#include "ops/cpu/attention/attention_kernels.h"
#include "ops/cpu/attention/attention_tensors.h"

namespace tessera {
namespace {

class FusedAttentionKernel : public Kernel {
 public:
  explicit FusedAttentionKernel(const Node& node) : scale_(node.GetFloat("scale", 1.0f)) {}

  Status Run(KernelContext& ctx) override {
    TS_ASSIGN_OR_RETURN(Tensor q, AttentionFloat32(ctx.input(0), "Q"));
    TS_ASSIGN_OR_RETURN(Tensor kt, AttentionFloat32(ctx.input(1), "key_t"));
    TS_ASSIGN_OR_RETURN(Tensor v, AttentionFloat32(ctx.input(2), "V"));
    const int64_t rank = q.rank();
    if ((rank != 3 && rank != 4) || kt.rank() != rank || v.rank() != rank) {
      return KernelContext::Error("Q " + ShapeToString(q.shape()) + ", key_t " + ShapeToString(kt.shape()) + " and V " +
                                  ShapeToString(v.shape()) + " must all be [B, H, S, D] or [N, S, D]");
    }
    const int64_t batch = rank == 4 ? q.dim(0) : 1, heads = q.dim(rank - 3), seq = q.dim(rank - 2), d = q.dim(rank - 1);
    const int64_t kv_heads = kt.dim(rank - 3), keys = kt.dim(rank - 1), dv = v.dim(rank - 1);
    const bool batch_ok = rank == 3 || (kt.dim(0) == batch && v.dim(0) == batch);
    if (!batch_ok || kv_heads <= 0 || heads % kv_heads != 0 || v.dim(rank - 3) != kv_heads || kt.dim(rank - 2) != d ||
        v.dim(rank - 2) != keys) {
      return KernelContext::Error("Q " + ShapeToString(q.shape()) + ", key_t " + ShapeToString(kt.shape()) + " and V " +
                                  ShapeToString(v.shape()) + " do not chain as Q x key_t x V");
    }
    // K rows, contiguous: the core reads one key as one run of D floats.
    TS_ASSIGN_OR_RETURN(Tensor k, Tensor::AllocateUninitialized(DType::kFloat32, {batch, kv_heads, keys, d}));
    const float* src = kt.data<float>();
    float* dst = k.data<float>();
    for (int64_t bh = 0; bh < batch * kv_heads; ++bh) {
      for (int64_t i = 0; i < d; ++i) {
        for (int64_t j = 0; j < keys; ++j) dst[(bh * keys + j) * d + i] = src[(bh * d + i) * keys + j];
      }
    }
    AttentionParams p;
    p.shape = {batch, heads, kv_heads, seq, keys, d, dv};
    p.scale = scale_;
    Tensor cond_storage, mask_storage, sum_storage;
    AttentionBias cond, mask;
    if (ctx.input_count() > 3 && ctx.has_input(3)) {
      if (ctx.input(3).dtype() != DType::kBool) return KernelContext::Error("condition must be bool");
      TS_ASSIGN_OR_RETURN(cond, BroadcastAttentionBias(ctx.input(3), batch, heads, seq, keys, "condition", cond_storage));
    }
    if (ctx.input_count() > 4 && ctx.has_input(4)) {
      if (ctx.input(4).dtype() == DType::kBool) return KernelContext::Error("mask must be a float tensor");
      TS_ASSIGN_OR_RETURN(mask, BroadcastAttentionBias(ctx.input(4), batch, heads, seq, keys, "mask", mask_storage));
    }
    if (cond.data && mask.data) {
      TS_ASSIGN_OR_RETURN(p.bias, SumAttentionBiases(cond, mask, batch, heads, seq, keys, sum_storage));
    } else {
      p.bias = cond.data ? cond : mask;
    }
    const Shape out_shape = rank == 4 ? Shape{batch, heads, seq, dv} : Shape{heads, seq, dv};
    const DType dtype = ctx.input(0).dtype();
    TS_ASSIGN_OR_RETURN(Tensor y, AttentionOutputStorage(ctx, 0, dtype, out_shape));
    RunScaledDotProductAttention(p, ViewHeadsOfRows(q.data<float>(), heads, seq, d),
                                 ViewHeadsOfRows(k.data<float>(), kv_heads, keys, d),
                                 ViewHeadsOfRows(v.data<float>(), kv_heads, keys, dv),
                                 OutputHeadsOfRows(y.data<float>(), heads, seq, dv), ctx.pool());
    return FinishAttentionOutput(ctx, 0, dtype, y);
  }

 private:
  float scale_;
};

}  // namespace

KernelFactory FusedAttentionFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<FusedAttentionKernel>(init.node));
  };
}

}  // namespace tessera
