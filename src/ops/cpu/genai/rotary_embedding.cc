// RotaryEmbedding (com.microsoft): rotary position embedding from precomputed cos/sin caches.
//
// input [batch, seq, heads * head_size] (3-D; heads from num_heads, else head_size = 2 * cache width) or
// [batch, heads, seq, head_size] (4-D); position_ids [batch, seq] (int64), or [1] holding the position of
// the first token; cos_cache/sin_cache [max_position, rotary_dim / 2]. The first rotary_dim elements of each
// head rotate: pairs (i, i + rotary_dim / 2) when interleaved = 0 (rotate_half, as Llama),
// (2i, 2i + 1) when interleaved = 1; the rest pass through. A position outside the caches is an error.
#include "ops/cpu/genai/genai_kernels.h"

namespace tessera::genai_ops {

namespace {

struct RotaryAttrs {
  bool interleaved = false;
  int64_t num_heads = 0;
  int64_t rotary_dim = 0;
};

Status RunRotary(KernelContext& ctx, const RotaryAttrs& attrs) {
  const Tensor& x = ctx.input(0);
  const Tensor& pos = ctx.input(1);
  const Tensor& cos = ctx.input(2);
  const Tensor& sin = ctx.input(3);
  if (x.dtype() != DType::kFloat32 || cos.dtype() != DType::kFloat32 || sin.dtype() != DType::kFloat32) {
    return KernelContext::Error("only float32 input and caches are supported");
  }
  if (pos.dtype() != DType::kInt64) return KernelContext::Error("position_ids must be int64");
  if ((x.rank() != 3 && x.rank() != 4) || cos.rank() != 2 || sin.shape() != cos.shape()) {
    return KernelContext::Error("expected input [b, s, hidden] or [b, n, s, h] and equal 2-D caches, got input " +
                                ShapeToString(x.shape()) + ", cos " + ShapeToString(cos.shape()));
  }
  const int64_t batch = x.dim(0);
  const int64_t half = cos.dim(1);
  int64_t heads, seq, head_size;
  if (x.rank() == 4) {
    heads = x.dim(1), seq = x.dim(2), head_size = x.dim(3);
  } else {
    seq = x.dim(1);
    head_size = attrs.num_heads > 0 ? x.dim(2) / attrs.num_heads : 2 * half;
    heads = head_size > 0 ? x.dim(2) / head_size : 0;
    if (heads * head_size != x.dim(2)) {
      return KernelContext::Error("hidden size " + std::to_string(x.dim(2)) + " is not heads x head_size");
    }
  }
  const int64_t rot = attrs.rotary_dim > 0 ? attrs.rotary_dim : head_size;
  if (rot > head_size || rot != 2 * half) {
    return KernelContext::Error("rotary dim " + std::to_string(rot) + " does not match cos_cache width " +
                                std::to_string(half) + " and head size " + std::to_string(head_size));
  }
  const bool offset_form = pos.element_count() == 1;
  if (!offset_form && pos.element_count() != batch * seq) {
    return KernelContext::Error("position_ids " + ShapeToString(pos.shape()) + " is neither [batch, seq] nor [1]");
  }
  const int64_t* p = pos.data<int64_t>();
  for (int64_t i = 0; i < (offset_form ? 1 : batch * seq); ++i) {
    if (p[i] < 0 || p[i] + (offset_form ? seq : 1) > cos.dim(0)) {
      return KernelContext::Error("position " + std::to_string(p[i]) + " is outside the caches' " +
                                  std::to_string(cos.dim(0)) + " positions");
    }
  }
  TS_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateUninitializedOutput(0, DType::kFloat32, x.shape()));
  const float* in = x.data<float>();
  float* o = out->data<float>();
  const float* c = cos.data<float>();
  const float* s = sin.data<float>();
  ctx.pool().ParallelFor(batch * seq, 4, [&](int64_t begin, int64_t end) {
    for (int64_t bs = begin; bs < end; ++bs) {
      const int64_t b = bs / seq, t = bs % seq;
      const int64_t position = offset_form ? p[0] + t : p[bs];
      const float* cr = c + position * half;
      const float* sr = s + position * half;
      for (int64_t h = 0; h < heads; ++h) {
        // Element offset of (b, h, t, 0) in either layout.
        const int64_t base = x.rank() == 4 ? ((b * heads + h) * seq + t) * head_size : (bs * heads + h) * head_size;
        const float* xi = in + base;
        float* yo = o + base;
        for (int64_t i = 0; i < half; ++i) {
          const int64_t i1 = attrs.interleaved ? 2 * i : i;
          const int64_t i2 = attrs.interleaved ? 2 * i + 1 : i + half;
          yo[i1] = xi[i1] * cr[i] - xi[i2] * sr[i];
          yo[i2] = xi[i2] * cr[i] + xi[i1] * sr[i];
        }
        for (int64_t i = rot; i < head_size; ++i) yo[i] = xi[i];
      }
    }
  });
  return Status::Ok();
}

}  // namespace

KernelFactory MakeRotaryEmbeddingFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    RotaryAttrs attrs;
    attrs.interleaved = init.node.GetInt("interleaved", 0) != 0;
    attrs.num_heads = init.node.GetInt("num_heads", 0);
    attrs.rotary_dim = init.node.GetInt("rotary_embedding_dim", 0);
    if (init.node.GetInt("is_packed_batching", 0) != 0) {
      return Unimplemented(init.node.Describe() + ": packed batching is not supported");
    }
    return std::unique_ptr<Kernel>(new FunctionKernel([attrs](KernelContext& ctx) { return RunRotary(ctx, attrs); }));
  };
}

}  // namespace tessera::genai_ops
