// RotaryEmbedding, in its two forms:
// - ONNX (opset 23): X, cos_cache, sin_cache[, position_ids]. Caches are [max_position, rotary_dim / 2]
//   indexed by position_ids [B, S], or without position_ids already [B, S, rotary_dim / 2].
// - com.microsoft: input, position_ids, cos_cache, sin_cache. position_ids is [B, S], or [1] holding the
//   position of the first token (the others follow it).
// X is [B, heads, S, D] or [B, S, heads * D]; for 3-D input the head size comes from num_heads, or when
// that is absent from the caches (the rotation then covers the whole head). rotary_embedding_dim (0: the
// head size) rotates a prefix of each head; interleaved picks the pairing (rotary.h).
#include <string>

#include "ops/cpu/attention/attention_kernels.h"
#include "ops/cpu/attention/attention_tensors.h"
#include "ops/cpu/attention/rotary.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

class RotaryEmbeddingKernel : public Kernel {
 public:
  RotaryEmbeddingKernel(const Node& node, bool microsoft)
      : microsoft_(microsoft),
        interleaved_(node.GetInt("interleaved", 0) != 0),
        num_heads_(node.GetInt("num_heads", 0)),
        rotary_dim_(node.GetInt("rotary_embedding_dim", 0)),
        packed_batching_(node.GetInt("is_packed_batching", 0) != 0) {}

  Status Validate() const {
    if (num_heads_ < 0)
      return KernelContext::Error("attribute 'num_heads' must be >= 0, got " + std::to_string(num_heads_));
    if (rotary_dim_ < 0 || rotary_dim_ % 2 != 0) {
      return KernelContext::Error("attribute 'rotary_embedding_dim' must be even and >= 0, got " +
                                  std::to_string(rotary_dim_));
    }
    if (packed_batching_) return Unimplemented("is_packed_batching = 1 (ragged batches) is not supported");
    return Status::Ok();
  }

  Status Run(KernelContext& ctx) override;

 private:
  bool microsoft_, interleaved_;
  int64_t num_heads_, rotary_dim_;
  bool packed_batching_;
};

Status RotaryEmbeddingKernel::Run(KernelContext& ctx) {
  const size_t cos_at = microsoft_ ? 2 : 1, sin_at = microsoft_ ? 3 : 2, pos_at = microsoft_ ? 1 : 3;
  TS_ASSIGN_OR_RETURN(Tensor x, AttentionFloat32(ctx.input(0), "input"));
  TS_ASSIGN_OR_RETURN(Tensor cos, AttentionFloat32(ctx.input(cos_at), "cos_cache"));
  TS_ASSIGN_OR_RETURN(Tensor sin, AttentionFloat32(ctx.input(sin_at), "sin_cache"));
  if (cos.shape() != sin.shape()) {
    return KernelContext::Error("cos_cache " + ShapeToString(cos.shape()) + " and sin_cache " +
                                ShapeToString(sin.shape()) + " differ");
  }
  if (x.rank() != 3 && x.rank() != 4) {
    return KernelContext::Error("input must be [batch, heads, seq, head_size] or [batch, seq, hidden], got " +
                                ShapeToString(x.shape()));
  }
  if (cos.rank() < 2) return KernelContext::Error("cos_cache must have rank 2 or 3, got " + ShapeToString(cos.shape()));
  const int64_t half = cos.dim(cos.rank() - 1);
  const int64_t batch = x.dim(0), seq = x.rank() == 4 ? x.dim(2) : x.dim(1);
  int64_t heads = 0, head = 0;
  if (x.rank() == 4) {
    heads = x.dim(1), head = x.dim(3);
  } else {
    head = num_heads_ > 0 ? x.dim(2) / num_heads_ : (rotary_dim_ > 0 ? 0 : 2 * half);
    if (head <= 0 || x.dim(2) % head != 0) {
      return KernelContext::Error("3-D input " + ShapeToString(x.shape()) + " needs attribute 'num_heads' dividing " +
                                  "its hidden size (got " + std::to_string(num_heads_) + ")");
    }
    heads = x.dim(2) / head;
  }
  const int64_t rotary = rotary_dim_ > 0 ? rotary_dim_ : head;
  if (rotary > head || rotary % 2 != 0 || half * 2 != rotary) {
    return KernelContext::Error("rotary dim " + std::to_string(rotary) + " (head size " + std::to_string(head) +
                                ") needs caches of rotary_dim / 2 = " + std::to_string(rotary / 2) +
                                " columns; cos_cache is " + ShapeToString(cos.shape()));
  }
  // Row of the caches for token (b, s).
  std::vector<int64_t> rows(static_cast<size_t>(batch * seq));
  const bool have_pos = ctx.has_input(pos_at);
  if (have_pos) {
    TS_ASSIGN_OR_RETURN(std::vector<int64_t> pos, ReadInt64Values(ctx.input(pos_at), "position_ids"));
    const bool offset_form = microsoft_ && ctx.input(pos_at).rank() == 1 && pos.size() == 1;
    if (!offset_form && ctx.input(pos_at).shape() != Shape{batch, seq}) {
      return KernelContext::Error("position_ids " + ShapeToString(ctx.input(pos_at).shape()) + " must be [batch, seq]" +
                                  (microsoft_ ? " or [1]" : "") + " = [" + std::to_string(batch) + ", " +
                                  std::to_string(seq) + "]");
    }
    if (cos.rank() != 2)
      return KernelContext::Error("with position_ids, cos_cache must be [max_position, rotary_dim / 2]");
    for (int64_t i = 0; i < batch * seq; ++i) {
      const int64_t r = offset_form ? pos[0] + i % seq : pos[static_cast<size_t>(i)];
      if (r < 0 || r >= cos.dim(0)) {
        return KernelContext::Error("position id " + std::to_string(r) + " is outside cos_cache's " +
                                    std::to_string(cos.dim(0)) + " positions");
      }
      rows[static_cast<size_t>(i)] = r;
    }
  } else {
    if (microsoft_) return KernelContext::Error("position_ids is required");
    if (cos.shape() != Shape{batch, seq, half}) {
      return KernelContext::Error("without position_ids, cos_cache must be [batch, seq, rotary_dim / 2] = [" +
                                  std::to_string(batch) + ", " + std::to_string(seq) + ", " + std::to_string(half) +
                                  "], got " + ShapeToString(cos.shape()));
    }
    for (int64_t i = 0; i < batch * seq; ++i) rows[static_cast<size_t>(i)] = i;
  }
  TS_ASSIGN_OR_RETURN(Tensor y, Tensor::AllocateUninitialized(DType::kFloat32, x.shape()));
  const AttentionInput in = x.rank() == 4 ? ViewHeadsOfRows(x.data<float>(), heads, seq, head)
                                          : ViewRowsOfHeads(x.data<float>(), seq, heads * head, head);
  const float* xs = x.data<float>();
  float* ys = y.data<float>();
  ctx.pool().ParallelFor(batch * heads, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, seq * head)),
                         [&](int64_t begin, int64_t end) {
                           for (int64_t bh = begin; bh < end; ++bh) {
                             const int64_t b = bh / heads, h = bh % heads;
                             for (int64_t s = 0; s < seq; ++s) {
                               const int64_t at = b * in.batch_stride + h * in.head_stride + s * in.row_stride;
                               const int64_t row = rows[static_cast<size_t>(b * seq + s)];
                               RotateHead(xs + at, ys + at, head, rotary, cos.data<float>() + row * half,
                                          sin.data<float>() + row * half, interleaved_);
                             }
                           }
                         });
  TS_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateUninitializedOutput(0, ctx.input(0).dtype(), x.shape()));
  StoreFromFloat32(y, *out);
  return Status::Ok();
}

KernelFactory RotaryFactory(bool microsoft) {
  return [microsoft](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    auto kernel = std::make_unique<RotaryEmbeddingKernel>(init.node, microsoft);
    TS_RETURN_IF_ERROR(kernel->Validate());
    return std::unique_ptr<Kernel>(std::move(kernel));
  };
}

}  // namespace

KernelFactory OnnxRotaryEmbeddingFactory() { return RotaryFactory(false); }
KernelFactory MicrosoftRotaryEmbeddingFactory() { return RotaryFactory(true); }

}  // namespace tessera
