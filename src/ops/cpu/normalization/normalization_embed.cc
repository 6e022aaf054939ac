// com.microsoft EmbedLayerNormalization, the BERT-style embedding front end:
//   s[b, t] = word[input_ids[b, t]] + position[p] + segment[segment_ids[b, t]]   (segment optional)
//   output[b, t] = LayerNorm(s[b, t]) * gamma + beta over the hidden axis,
// with p = position_ids[b, t] (position_ids [B, S] or [1, S], optional; default t). Outputs: output
// [B, S, H], mask_index int32 [B] (the count of ones in each row of mask: right-padded prompts; 0 when
// there is no mask, as in ONNX Runtime) and the optional embedding_sum s. Ids are int32; an id outside its
// table is an error naming the input.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "ops/cpu/normalization/normalization_common.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

class EmbedLayerNormKernel : public Kernel {
 public:
  explicit EmbedLayerNormKernel(const Node& node) : epsilon_(node.GetFloat("epsilon", 1e-12f)) {}

  Status Run(KernelContext& ctx) override {
    for (size_t i : {size_t{0}, size_t{2}, size_t{3}, size_t{5}, size_t{6}}) {
      if (!ctx.has_input(i)) {
        return KernelContext::Error("inputs 'input_ids', 'word_embedding', 'position_embedding', 'gamma' and 'beta' "
                                    "are required");
      }
    }
    const Tensor& ids = ctx.input(0);
    if (ids.dtype() != DType::kInt32 || ids.rank() != 2) {
      return KernelContext::Error("input 'input_ids' must be int32 [batch, sequence], got " +
                                  std::string(DTypeName(ids.dtype())) + " " + ShapeToString(ids.shape()));
    }
    const int64_t batch = ids.dim(0), seq = ids.dim(1);
    const Tensor& word = ctx.input(2);
    const Tensor& pos = ctx.input(3);
    if (word.rank() != 2 || word.dtype() != DType::kFloat32) {
      return KernelContext::Error("input 'word_embedding' must be float32 [vocab, hidden], got " +
                                  ShapeToString(word.shape()));
    }
    const int64_t hidden = word.dim(1);
    auto check_table = [&](const Tensor& t, const char* what) -> Status {
      if (t.rank() != 2 || t.dim(1) != hidden || t.dtype() != DType::kFloat32) {
        return KernelContext::Error(std::string(what) + " must be float32 [rows, " + std::to_string(hidden) +
                                    "], got " + ShapeToString(t.shape()));
      }
      return Status::Ok();
    };
    TS_RETURN_IF_ERROR(check_table(pos, "input 'position_embedding'"));
    const Tensor* seg_ids = ctx.has_input(1) ? &ctx.input(1) : nullptr;
    const Tensor* seg = ctx.has_input(4) ? &ctx.input(4) : nullptr;
    if ((seg_ids == nullptr) != (seg == nullptr)) {
      return KernelContext::Error("inputs 'segment_ids' and 'segment_embedding' must be given together");
    }
    if (seg != nullptr) {
      TS_RETURN_IF_ERROR(check_table(*seg, "input 'segment_embedding'"));
      if (seg_ids->dtype() != DType::kInt32 || seg_ids->shape() != ids.shape()) {
        return KernelContext::Error("input 'segment_ids' must be int32 of input_ids' shape, got " +
                                    ShapeToString(seg_ids->shape()));
      }
    }
    TS_ASSIGN_OR_RETURN(std::vector<float> gamma, ReadParam<float>(ctx.input(5), "input 'gamma'", hidden));
    TS_ASSIGN_OR_RETURN(std::vector<float> beta, ReadParam<float>(ctx.input(6), "input 'beta'", hidden));
    const Tensor* mask = ctx.has_input(7) ? &ctx.input(7) : nullptr;
    if (mask != nullptr && (mask->dtype() != DType::kInt32 || mask->shape() != ids.shape())) {
      return KernelContext::Error("input 'mask' must be int32 of input_ids' shape, got " + ShapeToString(mask->shape()));
    }
    const Tensor* pos_ids = ctx.has_input(8) ? &ctx.input(8) : nullptr;
    if (pos_ids != nullptr && (pos_ids->dtype() != DType::kInt32 || pos_ids->rank() != 2 || pos_ids->dim(1) != seq ||
                               (pos_ids->dim(0) != batch && pos_ids->dim(0) != 1))) {
      return KernelContext::Error("input 'position_ids' must be int32 [batch or 1, sequence], got " +
                                  ShapeToString(pos_ids->shape()));
    }
    auto lookup = [](const Tensor& table, int64_t id, const char* what) -> StatusOr<const float*> {
      if (id < 0 || id >= table.dim(0)) {
        return KernelContext::Error(std::string(what) + " has id " + std::to_string(id) + ", outside [0, " +
                                    std::to_string(table.dim(0)) + ")");
      }
      return table.data<float>() + id * table.dim(1);
    };
    TS_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateOutput(0, DType::kFloat32, {batch, seq, hidden}));
    TS_ASSIGN_OR_RETURN(Tensor * mask_index, ctx.AllocateOutput(1, DType::kInt32, {batch}));
    Tensor* sum_out = nullptr;
    if (ctx.wants_output(2)) {
      TS_ASSIGN_OR_RETURN(sum_out, ctx.AllocateOutput(2, DType::kFloat32, {batch, seq, hidden}));
    }
    std::vector<double> s(static_cast<size_t>(hidden));
    for (int64_t r = 0; r < batch * seq; ++r) {
      const int64_t b = r / seq, t = r % seq;
      TS_ASSIGN_OR_RETURN(const float* w, lookup(word, ids.data<int32_t>()[r], "input 'input_ids'"));
      const int64_t p = pos_ids ? pos_ids->data<int32_t>()[(pos_ids->dim(0) == 1 ? 0 : b) * seq + t] : t;
      TS_ASSIGN_OR_RETURN(const float* pe, lookup(pos, p, "the position (position_ids or the token index)"));
      const float* se = nullptr;
      if (seg) {
        TS_ASSIGN_OR_RETURN(se, lookup(*seg, seg_ids->data<int32_t>()[r], "input 'segment_ids'"));
      }
      double mean = 0;
      for (int64_t i = 0; i < hidden; ++i) {
        s[static_cast<size_t>(i)] = static_cast<double>(w[i]) + pe[i] + (se ? se[i] : 0.0f);
        mean += s[static_cast<size_t>(i)];
      }
      mean /= static_cast<double>(hidden);
      double var = 0;
      for (double v : s) var += (v - mean) * (v - mean);
      const double inv = 1.0 / std::sqrt(var / static_cast<double>(hidden) + static_cast<double>(epsilon_));
      float* o = out->data<float>() + r * hidden;
      for (int64_t i = 0; i < hidden; ++i) {
        const size_t u = static_cast<size_t>(i);
        o[i] = static_cast<float>((s[u] - mean) * inv * gamma[u] + beta[u]);
        if (sum_out) sum_out->data<float>()[r * hidden + i] = static_cast<float>(s[u]);
      }
    }
    for (int64_t b = 0; b < batch; ++b) {
      int32_t count = 0;
      for (int64_t t = 0; mask && t < seq; ++t) count += mask->data<int32_t>()[b * seq + t] == 1 ? 1 : 0;
      mask_index->data<int32_t>()[b] = count;
    }
    return Status::Ok();
  }

 private:
  float epsilon_;
};

}  // namespace

KernelFactory MakeEmbedLayerNormalizationFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<EmbedLayerNormKernel>(init.node));
  };
}

}  // namespace tessera
