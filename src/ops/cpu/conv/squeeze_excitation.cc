// com.tessera SqueezeExcitationChannelsLast (graph/layout.h): a whole squeeze-excitation block of a channels-last
// image in one node,
//   y = x * gate(W2 · squeeze(W1 · mean_hw(x) + B1) + B2),
// which graph/passes/squeeze_excitation_fusion.h makes from GlobalAveragePoolChannelsLast -> FusedConv 1x1 ->
// FusedConv 1x1 -> ChannelScaleChannelsLast (MobileNetV3 has 8-9 such blocks). As four nodes, each of the two
// products on a 1x1 image went through a oneDNN convolution call for a few thousand multiply-adds, and the mean
// and the gate crossed node boundaries; here the two products are matrix-vector loops over weights transposed
// once at load ([C, S] and [S, C], so the inner loop runs along a contiguous output row and vectorizes without
// reassociating sums), and the mean, products and gate stay in a per-call buffer.
//
// Inputs: X [N, C, H, W] holding NHWC bytes, W1 [S, C, 1, 1], B1 [S] (optional), W2 [C, S, 1, 1], B2 [C]
// (optional); W and B must be float32 constants. Attributes `squeeze_activation*` and `gate_activation*` name
// the activations with FusedConv's spelling (ops/cpu/conv/conv.cc): "Relu", "Clip" (_min/_max),
// "HardSwish", "HardSigmoid" (_alpha/_beta), "Sigmoid", or none. Y has X's shape and layout. float32 only.
#include "ops/cpu/conv/squeeze_excitation.h"

#include <algorithm>
#include <string>
#include <vector>

#include "graph/layout.h"
#include "ops/cpu/conv/conv_activation_attributes.h"
#include "ops/cpu/conv/conv_dnnl.h"

namespace tessera {
namespace {

constexpr const char* kOp = kChannelsLastSqueezeExcitation;

// sum[c] += x[p, c] over `pixels` rows of `channels` floats (the order of the plain GlobalAveragePool's loop).
__attribute__((target_clones("avx512f", "avx2", "default"))) void SumPixels(const float* x, int64_t pixels,
                                                                           int64_t channels, float* sum) {
  for (int64_t p = 0; p < pixels; ++p) {
    const float* row = x + p * channels;
    for (int64_t c = 0; c < channels; ++c) sum[c] += row[c];
  }
}

// out[j] += sum_k v[k] * wt[k, j] for wt [k_count, n] row-major: one axpy per k along a contiguous row.
__attribute__((target_clones("avx512f", "avx2", "default"))) void GemvTransposed(const float* wt, const float* v,
                                                                                int64_t k_count, int64_t n,
                                                                                float* out) {
  for (int64_t k = 0; k < k_count; ++k) {
    const float a = v[k];
    const float* row = wt + k * n;
    for (int64_t j = 0; j < n; ++j) out[j] += a * row[j];
  }
}

// y[r, c] = x[r, c] * s[c] for `rows` rows of `channels` floats.
__attribute__((target_clones("avx512f", "avx2", "default"))) void ScaleRows(const float* x, const float* s,
                                                                           int64_t rows, int64_t channels, float* y) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * channels;
    float* yr = y + r * channels;
    for (int64_t c = 0; c < channels; ++c) yr[c] = xr[c] * s[c];
  }
}

// A float32 constant input of shape `shape`, or an error naming it.
StatusOr<const Tensor*> ConstantOfShape(const KernelInit& init, size_t i, const char* name, const Shape& shape) {
  const Tensor* t = init.node.inputs.size() > i && init.node.inputs[i] != kNoValue ? init.constant_input(i) : nullptr;
  if (!t || t->dtype() != DType::kFloat32 || t->shape() != shape)
    return InvalidArgument(std::string(kOp) + " needs " + name + " as a float32 constant of shape " +
                           ShapeToString(shape) + (t ? ", got " + ShapeToString(t->shape()) : ", got a computed value"));
  return t;
}

class SqueezeExcitationKernel : public Kernel {
 public:
  SqueezeExcitationKernel(int64_t channels, int64_t squeezed, ConvPostOps squeeze, ConvPostOps gate)
      : channels_(channels), squeezed_(squeezed), squeeze_(squeeze), gate_(gate) {}

  // Transposes W1 [S, C] to [C, S] and W2 [C, S] to [S, C]; absent biases are zeros.
  void Pack(const Tensor& w1, const Tensor* b1, const Tensor& w2, const Tensor* b2) {
    const size_t c = static_cast<size_t>(channels_), s = static_cast<size_t>(squeezed_);
    w1t_.resize(c * s);
    w2t_.resize(s * c);
    for (size_t j = 0; j < s; ++j) {
      for (size_t k = 0; k < c; ++k) {
        w1t_[k * s + j] = w1.data<float>()[j * c + k];
        w2t_[j * c + k] = w2.data<float>()[k * s + j];
      }
    }
    b1_.assign(s, 0.0f);
    b2_.assign(c, 0.0f);
    if (b1) std::copy(b1->data<float>(), b1->data<float>() + s, b1_.begin());
    if (b2) std::copy(b2->data<float>(), b2->data<float>() + c, b2_.begin());
  }

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::kFloat32 || x.rank() != 4 || x.dim(1) != channels_)
      return KernelContext::Error(std::string(kOp) + " needs a float32 [N, " + std::to_string(channels_) +
                                  ", H, W] image, got X " + ShapeToString(x.shape()) + " (" + DTypeName(x.dtype()) +
                                  ")");
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, x.dtype(), x.shape()));
    const int64_t batch = x.dim(0), pixels = x.dim(2) * x.dim(3);
    if (y->element_count() == 0) return Status::Ok();
    // Per image: the mean (C), the squeezed vector (S) and the gate (C).
    std::vector<float> gates(static_cast<size_t>(batch * channels_));
    std::vector<float> mean(static_cast<size_t>(channels_)), hidden(static_cast<size_t>(squeezed_));
    const float inverse = 1.0f / static_cast<float>(pixels);
    for (int64_t n = 0; n < batch; ++n) {
      std::fill(mean.begin(), mean.end(), 0.0f);
      SumPixels(x.data<float>() + n * pixels * channels_, pixels, channels_, mean.data());
      for (float& m : mean) m *= inverse;
      hidden = b1_;
      GemvTransposed(w1t_.data(), mean.data(), channels_, squeezed_, hidden.data());
      for (float& h : hidden) h = ApplyConvActivation(squeeze_, h);
      float* gate = gates.data() + n * channels_;
      std::copy(b2_.begin(), b2_.end(), gate);
      GemvTransposed(w2t_.data(), hidden.data(), squeezed_, channels_, gate);
      for (int64_t c = 0; c < channels_; ++c) gate[c] = ApplyConvActivation(gate_, gate[c]);
    }
    const float* in = x.data<float>();
    float* out = y->data<float>();
    // Rows of one image share its gate: chunks of at least 16K floats, as ChannelScaleChannelsLast.
    ctx.pool().ParallelFor(batch * pixels, std::max<int64_t>(1, 16384 / channels_), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end;) {
        const int64_t n = r / pixels, stop = std::min(end, (n + 1) * pixels);
        ScaleRows(in + r * channels_, gates.data() + n * channels_, stop - r, channels_, out + r * channels_);
        r = stop;
      }
    });
    return Status::Ok();
  }

 private:
  int64_t channels_, squeezed_;
  ConvPostOps squeeze_, gate_;
  std::vector<float> w1t_, w2t_, b1_, b2_;
};

StatusOr<std::unique_ptr<Kernel>> MakeSqueezeExcitation(const KernelInit& init) {
  const Node& node = init.node;
  if (node.inputs.size() != 5 || node.inputs[0] == kNoValue || node.outputs.size() != 1)
    return InvalidArgument(std::string(kOp) + " takes inputs (X, W1, B1, W2, B2) and one output");
  const Tensor* w1 = node.inputs[1] != kNoValue ? init.constant_input(1) : nullptr;
  if (!w1 || w1->dtype() != DType::kFloat32 || w1->rank() != 4 || w1->dim(2) != 1 || w1->dim(3) != 1 ||
      w1->dim(0) < 1 || w1->dim(1) < 1)
    return InvalidArgument(std::string(kOp) + " needs W1 as a float32 constant [S, C, 1, 1]" +
                           (w1 ? ", got " + ShapeToString(w1->shape()) : ", got a computed value"));
  const int64_t squeezed = w1->dim(0), channels = w1->dim(1);
  TS_ASSIGN_OR_RETURN(const Tensor* w2, ConstantOfShape(init, 3, "W2", {channels, squeezed, 1, 1}));
  const Tensor *b1 = nullptr, *b2 = nullptr;
  if (node.inputs[2] != kNoValue) {
    TS_ASSIGN_OR_RETURN(b1, ConstantOfShape(init, 2, "B1", {squeezed}));
  }
  if (node.inputs[4] != kNoValue) {
    TS_ASSIGN_OR_RETURN(b2, ConstantOfShape(init, 4, "B2", {channels}));
  }
  ConvPostOps squeeze, gate;
  TS_RETURN_IF_ERROR(ReadConvActivation(node, "squeeze_activation", kOp, squeeze));
  TS_RETURN_IF_ERROR(ReadConvActivation(node, "gate_activation", kOp, gate));
  auto kernel = std::make_unique<SqueezeExcitationKernel>(channels, squeezed, squeeze, gate);
  kernel->Pack(*w1, b1, *w2, b2);
  return std::unique_ptr<Kernel>(std::move(kernel));
}

}  // namespace

void RegisterSqueezeExcitationKernels(KernelRegistry& registry) {
  KernelDef def;
  def.op_type = kChannelsLastSqueezeExcitation;
  def.domain = kTesseraDomain;
  def.since_opset = 1;
  def.dtypes = {DType::kFloat32};
  def.factory = MakeSqueezeExcitation;
  registry.Register(std::move(def));
}

}  // namespace tessera
