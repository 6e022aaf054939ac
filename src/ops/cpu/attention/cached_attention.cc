// com.tessera CachedAttention: FusedAttention (fused_attention.cc) whose keys and values are the outputs
// of com.tessera KvCacheAppend, written by graph/passes/kv_cache_in_place for generation.
//
// Inputs: Q [B, H, S, D], K [B, Hk, L, D] and V [B, Hk, L, Dv] with the logical length L but stored with
// `capacity` rows per head (KvCacheAppend's layout), then optional condition (bool) and mask (float) as in
// FusedAttention. Hk divides H: query head h reads key head h / (H / Hk), which is what the repeat of
// grouped key heads (Unsqueeze -> Expand -> Reshape) that the pass removed computed. Only the first L
// rows of each head are read, in place. Attribute scale multiplies the product. float32 only (the pass
// leaves other caches to the graph as written). Output [B, H, S, Dv].
#include <string>

#include "ops/cpu/attention/attention_core.h"
#include "ops/cpu/attention/attention_kernels.h"
#include "ops/cpu/attention/attention_tensors.h"

namespace tessera {
namespace {

class CachedAttentionKernel : public Kernel {
 public:
  explicit CachedAttentionKernel(const Node& node)
      : scale_(node.GetFloat("scale", 1.0f)), capacity_(node.GetInt("capacity", 0)) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& q = ctx.input(0);
    const Tensor& k = ctx.input(1);
    const Tensor& v = ctx.input(2);
    const auto shapes = [&] {
      return "Q " + ShapeToString(q.shape()) + ", K " + ShapeToString(k.shape()) + " and V " + ShapeToString(v.shape());
    };
    for (const Tensor* t : {&q, &k, &v}) {
      if (t->dtype() != DType::kFloat32 || t->rank() != 4) {
        return KernelContext::Error(shapes() + " must be float32 [batch, heads, rows, dim] tensors");
      }
    }
    const int64_t batch = q.dim(0), heads = q.dim(1), seq = q.dim(2), d = q.dim(3);
    const int64_t kv_heads = k.dim(1), keys = k.dim(2), dv = v.dim(3);
    if (k.dim(0) != batch || v.dim(0) != batch || v.dim(1) != kv_heads || v.dim(2) != keys || k.dim(3) != d ||
        kv_heads <= 0 || heads % kv_heads != 0 || keys > capacity_) {
      return KernelContext::Error(shapes() + " do not chain as grouped attention over a cache of " +
                                  std::to_string(capacity_) + " positions");
    }
    AttentionParams p;
    p.shape = {batch, heads, kv_heads, seq, keys, d, dv};
    p.scale = scale_;
    FusedBiasStorage bias_storage;
    TS_ASSIGN_OR_RETURN(p.bias, FusedConditionAndMask(ctx, batch, heads, seq, keys, bias_storage));
    TS_ASSIGN_OR_RETURN(Tensor y, AttentionOutputStorage(ctx, 0, DType::kFloat32, {batch, heads, seq, dv}));
    RunScaledDotProductAttention(p, ViewHeadsOfRows(q.data<float>(), heads, seq, d),
                                 ViewHeadsOfRows(k.data<float>(), kv_heads, capacity_, d),
                                 ViewHeadsOfRows(v.data<float>(), kv_heads, capacity_, dv),
                                 OutputHeadsOfRows(y.data<float>(), heads, seq, dv), ctx.pool());
    return FinishAttentionOutput(ctx, 0, DType::kFloat32, y);
  }

 private:
  float scale_;
  int64_t capacity_;
};

}  // namespace

KernelFactory CachedAttentionFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    if (init.node.GetInt("capacity", 0) <= 0) {
      return InvalidArgument("CachedAttention node '" + init.node.name + "' needs a capacity > 0");
    }
    return std::unique_ptr<Kernel>(std::make_unique<CachedAttentionKernel>(init.node));
  };
}

}  // namespace tessera
