// com.tessera CachedAttention: FusedAttention (fused_attention.cc) whose keys and values are the outputs
// of com.tessera KvCacheAppend, written by graph/passes/kv_cache_in_place for generation.
//
// Inputs: Q [B, H, S, D], K [B, Hk, L, D] and V [B, Hk, L, Dv] with the logical length L but stored with
// `capacity` rows per head (KvCacheAppend's layout), then optional condition (bool) and mask (float) as in
// FusedAttention. Hk divides H: query head h reads key head h / (H / Hk), which is what the repeat of
// grouped key heads (Unsqueeze -> Expand -> Reshape) that the pass removed computed. Only the first L
// rows of each head are read, in place. Attribute scale multiplies the product. float32 only (the pass
// leaves other caches to the graph as written). Output [B, H, S, Dv].
//
// Pooled rows (optional input 5, `rows`, as KvCacheAppend's: kv_cache_rows.h): K and V are pools of
// [slots, Hk, capacity, D] and batch row b reads the first p_b + S rows of its slot, p_b its own past
// length. The mask stays in the step's logical coordinates, left-padded to the longest row (L = P + S
// keys): row b's key 0 is logical key P - p_b, so the bias is read from that column on.
#include <string>
#include <vector>

#include "ops/cpu/attention/attention_core.h"
#include "ops/cpu/attention/attention_kernels.h"
#include "ops/cpu/attention/attention_tensors.h"
#include "ops/cpu/attention/kv_cache_rows.h"

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
    AttentionInput kin = ViewHeadsOfRows(k.data<float>(), kv_heads, capacity_, d);
    AttentionInput vin = ViewHeadsOfRows(v.data<float>(), kv_heads, capacity_, dv);
    std::vector<int64_t> k_offsets, v_offsets, valid, shift;
    if (ctx.input_count() > 5 && ctx.has_input(5)) {
      TS_ASSIGN_OR_RETURN(KvCacheRows rows, ReadKvCacheRows(ctx.input(5), batch, keys - seq, seq, capacity_));
      // The pool's extent was checked by the KvCacheAppend that wrote it; it is checked again here since
      // a graph could feed this node other tensors.
      const size_t slots = static_cast<size_t>(rows.max_slot + 1);
      if (k.buffer()->bytes() < k.offset() + slots * static_cast<size_t>(kv_heads * capacity_ * d) * sizeof(float) ||
          v.buffer()->bytes() < v.offset() + slots * static_cast<size_t>(kv_heads * capacity_ * dv) * sizeof(float)) {
        return KernelContext::Error(shapes() + " are not pools of " + std::to_string(slots) + " slots of " +
                                    std::to_string(capacity_) + " positions");
      }
      for (int64_t b = 0; b < batch; ++b) {
        const int64_t slot = rows.slot[static_cast<size_t>(b)], past = rows.past[static_cast<size_t>(b)];
        k_offsets.push_back(slot * kin.batch_stride);
        v_offsets.push_back(slot * vin.batch_stride);
        valid.push_back(past + seq);
        shift.push_back(keys - seq - past);
      }
      kin.batch_offsets = k_offsets.data();
      vin.batch_offsets = v_offsets.data();
      p.masking.valid_keys = valid.data();
      if (p.bias.data) p.bias.key_shift = shift.data();
    }
    RunScaledDotProductAttention(p, ViewHeadsOfRows(q.data<float>(), heads, seq, d), kin, vin,
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
