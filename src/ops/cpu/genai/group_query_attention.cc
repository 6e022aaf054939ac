// GroupQueryAttention (com.microsoft), the growing-buffer form ONNX Runtime GenAI uses without
// past_present_share_buffer.
//
// query [b, s, heads * d], key/value [b, s, kv_heads * d], past_key/past_value [b, kv_heads, p, d]
// (optional), seqlens_k [b] int32 (valid tokens of row b, past and new, minus one), total_sequence_length
// (int32 scalar). Row b's valid total is t_b = seqlens_k[b] + 1 and its past p_b = t_b - s (0 on a first
// prompt, when p is 0: rows are right-padded, so padded queries only see the row's valid keys).
// present_key/value [b, kv_heads, max(total, p), d] hold past[0, p_b) then the new rows, zeros after.
// Query head h reads kv head h / (heads / kv_heads); query t sees keys [0, p_b + t] (and, with
// local_window_size w > 0, only the last w of them); scale defaults to 1/sqrt(d).
// Shared buffer (ONNX Runtime GenAI's past_present_share_buffer): when past is at least as long as
// total_sequence_length, past is the whole cache buffer (allocated once per sequence by the caller, up to
// the context length): the new rows are written into it in place at p_b, and present_key/value are past
// itself, so a decode step copies one row per kv head instead of the whole cache. Never for constant pasts.
// Not supported (an error at creation): do_rotary (GenAI writes RotaryEmbedding nodes instead), packed
// QKV (key omitted), softcap.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "ops/cpu/genai/genai_kernels.h"

namespace tessera::genai_ops {

namespace {

struct GqaAttrs {
  int64_t heads = 0;
  int64_t kv_heads = 0;
  float scale = 0;
  int64_t window = -1;
  bool past_may_be_shared = false;  // past is not a constant, so it may be written in place
};

Status RunGqa(KernelContext& ctx, const GqaAttrs& a) {
  if (!ctx.has_input(1) || !ctx.has_input(2) || !ctx.has_input(5) || !ctx.has_input(6)) {
    return KernelContext::Error("needs query, key, value, seqlens_k and total_sequence_length");
  }
  const Tensor& q = ctx.input(0);
  const Tensor& k = ctx.input(1);
  const Tensor& v = ctx.input(2);
  const bool has_past = ctx.has_input(3) && ctx.has_input(4);
  const Tensor& seqlens = ctx.input(5);
  const Tensor& total_t = ctx.input(6);
  for (const Tensor* t : {&q, &k, &v}) {
    if (t->dtype() != DType::kFloat32 || t->rank() != 3) return KernelContext::Error("query/key/value must be float32 [b, s, n * d]");
  }
  const int64_t b = q.dim(0), s = q.dim(1);
  const int64_t d = q.dim(2) / a.heads;
  if (d * a.heads != q.dim(2) || k.shape() != Shape{b, s, a.kv_heads * d} || v.shape() != k.shape()) {
    return KernelContext::Error("query " + ShapeToString(q.shape()) + ", key " + ShapeToString(k.shape()) +
                                " and value " + ShapeToString(v.shape()) + " do not fit num_heads " +
                                std::to_string(a.heads) + " and kv_num_heads " + std::to_string(a.kv_heads));
  }
  int64_t p = 0;
  if (has_past) {
    const Tensor& pk = ctx.input(3);
    p = pk.rank() == 4 ? pk.dim(2) : -1;
    if (pk.dtype() != DType::kFloat32 || pk.shape() != Shape{b, a.kv_heads, p, d} || ctx.input(4).shape() != pk.shape()) {
      return KernelContext::Error("past_key/past_value must be float32 [b, kv_heads, past, head_size], got " +
                                  ShapeToString(pk.shape()));
    }
  }
  if (seqlens.dtype() != DType::kInt32 || seqlens.element_count() != b || total_t.dtype() != DType::kInt32 ||
      total_t.element_count() != 1) {
    return KernelContext::Error("seqlens_k must be int32 [batch] and total_sequence_length an int32 scalar");
  }
  const bool shared = a.past_may_be_shared && has_past && p > 0 && total_t.data<int32_t>()[0] <= p;
  const int64_t total = std::max<int64_t>(total_t.data<int32_t>()[0], p);
  std::vector<int64_t> past_len(static_cast<size_t>(b)), valid(static_cast<size_t>(b));
  for (int64_t r = 0; r < b; ++r) {
    valid[r] = static_cast<int64_t>(seqlens.data<int32_t>()[r]) + 1;
    past_len[r] = p == 0 ? 0 : valid[r] - s;
    if (past_len[r] < 0 || past_len[r] > p || past_len[r] + s > total || valid[r] > total || valid[r] < 1) {
      return KernelContext::Error("row " + std::to_string(r) + ": seqlens_k " + std::to_string(valid[r] - 1) +
                                  " does not fit past length " + std::to_string(p) + ", " + std::to_string(s) +
                                  " new tokens and total_sequence_length " + std::to_string(total));
    }
  }
  TS_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateUninitializedOutput(0, DType::kFloat32, q.shape()));
  Tensor* present[2] = {nullptr, nullptr};
  Tensor scratch[2];
  for (int i = 0; i < 2; ++i) {
    if (shared) {
      scratch[i] = ctx.input(3 + i);  // a handle on the caller's buffer: written below, then output as is
      present[i] = &scratch[i];
      if (ctx.wants_output(1 + i)) ctx.SetOutput(1 + i, scratch[i]);
    } else if (ctx.wants_output(1 + i)) {
      TS_ASSIGN_OR_RETURN(present[i], ctx.AllocateOutput(1 + i, DType::kFloat32, {b, a.kv_heads, total, d}));
    } else {
      TS_ASSIGN_OR_RETURN(scratch[i], Tensor::Allocate(DType::kFloat32, {b, a.kv_heads, total, d}));
      present[i] = &scratch[i];
    }
  }
  // present = past[0, p_b) then the new rows, per (row, kv head); with a shared buffer past is in place.
  for (int i = 0; i < 2; ++i) {
    const float* past = has_past ? ctx.input(3 + i).data<float>() : nullptr;
    const float* now = (i == 0 ? k : v).data<float>();
    float* dst = present[i]->data<float>();
    for (int64_t r = 0; r < b; ++r) {
      for (int64_t h = 0; h < a.kv_heads; ++h) {
        float* row = dst + (r * a.kv_heads + h) * total * d;
        if (past_len[r] > 0 && !shared) {
          std::memcpy(row, past + (r * a.kv_heads + h) * p * d, static_cast<size_t>(past_len[r] * d) * sizeof(float));
        }
        for (int64_t t = 0; t < s; ++t) {
          std::memcpy(row + (past_len[r] + t) * d, now + ((r * s + t) * a.kv_heads + h) * d, static_cast<size_t>(d) * sizeof(float));
        }
      }
    }
  }
  const float scale = a.scale != 0 ? a.scale : 1.0f / std::sqrt(static_cast<float>(d));
  const int64_t group = a.heads / a.kv_heads;
  const float* qd = q.data<float>();
  const float* keys = present[0]->data<float>();
  const float* values = present[1]->data<float>();
  float* od = out->data<float>();
  ctx.pool().ParallelFor(b * a.heads, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(static_cast<size_t>(total));
    for (int64_t rh = begin; rh < end; ++rh) {
      const int64_t r = rh / a.heads, h = rh % a.heads;
      const float* kh = keys + (r * a.kv_heads + h / group) * total * d;
      const float* vh = values + (r * a.kv_heads + h / group) * total * d;
      for (int64_t t = 0; t < s; ++t) {
        const float* qt = qd + ((r * s + t) * a.heads + h) * d;
        float* ot = od + ((r * s + t) * a.heads + h) * d;
        const int64_t last = std::min(past_len[r] + t, valid[r] - 1);
        const int64_t first = a.window > 0 ? std::max<int64_t>(0, last - a.window + 1) : 0;
        float max_score = -INFINITY;
        for (int64_t j = first; j <= last; ++j) {
          float dot = 0;
          for (int64_t e = 0; e < d; ++e) dot += qt[e] * kh[j * d + e];
          scores[j] = dot * scale;
          max_score = std::max(max_score, scores[j]);
        }
        double sum = 0;
        for (int64_t j = first; j <= last; ++j) sum += (scores[j] = std::exp(scores[j] - max_score));
        std::fill(ot, ot + d, 0.0f);
        for (int64_t j = first; j <= last; ++j) {
          const float w = static_cast<float>(scores[j] / sum);
          for (int64_t e = 0; e < d; ++e) ot[e] += w * vh[j * d + e];
        }
      }
    }
  });
  return Status::Ok();
}

}  // namespace

KernelFactory MakeGroupQueryAttentionFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    GqaAttrs a;
    a.heads = init.node.GetInt("num_heads", 0);
    a.kv_heads = init.node.GetInt("kv_num_heads", 0);
    a.scale = init.node.GetFloat("scale", 0.0f);
    a.window = init.node.GetInt("local_window_size", -1);
    a.past_may_be_shared = !init.constant_input(3) && !init.constant_input(4);
    if (a.heads <= 0 || a.kv_heads <= 0 || a.heads % a.kv_heads != 0) {
      return InvalidArgument(init.node.Describe() + ": num_heads " + std::to_string(a.heads) +
                             " must be a positive multiple of kv_num_heads " + std::to_string(a.kv_heads));
    }
    if (init.node.GetInt("do_rotary", 0) != 0) {
      return Unimplemented(init.node.Describe() + ": do_rotary is not supported (use RotaryEmbedding nodes)");
    }
    if (init.node.GetFloat("softcap", 0.0f) != 0.0f) return Unimplemented(init.node.Describe() + ": softcap is not supported");
    return std::unique_ptr<Kernel>(new FunctionKernel([a](KernelContext& ctx) { return RunGqa(ctx, a); }));
  };
}

}  // namespace tessera::genai_ops
