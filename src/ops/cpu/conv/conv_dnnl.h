// Float32 Conv and ConvTranspose through oneDNN's convolution and deconvolution primitives.
//
// One DnnlConv belongs to one node. Primitives are built on the first run with each input shape and
// cached; constant weights are reordered into the primitive's preferred layout once per layout (not per
// run). The kernel boundary is plain NC[D]HW, or NHWC where ConvPostOps asks for channels-last (a FusedConv
// between convolutions): the primitive may choose a blocked layout for its source and destination
// ("any"), in which case the input is reordered in and the output reordered back.
//
// Thread safety: Run may be called from several threads at once; the cache is locked and each thread
// has its own scratch memory.
#pragma once

#include <cmath>
#include <dnnl.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "ops/cpu/common/window_geometry.h"

namespace tessera {

// What a fused convolution applies to its result, in order: y = act(conv(x, w) + bias [+ z]).
struct ConvPostOps {
  // kHardSwish is ONNX HardSwish, v * clamp(v / 6 + 1/2, 0, 1); kHardSigmoid is clamp(alpha * v + beta, 0, 1);
  // kSigmoid is 1 / (1 + exp(-v)).
  enum class Activation { kNone, kRelu, kClip, kHardSwish, kHardSigmoid, kSigmoid };
  bool sum = false;  // add the addend z (same shape as y) before the activation
  Activation activation = Activation::kNone;
  float min = 0, max = 0;  // kClip bounds
  float alpha = 0, beta = 0;  // kHardSigmoid's slope and offset
  // Memory order of X and of Y (and the addend) at the kernel boundary: NHWC where set, else NCHW. Rank 4
  // only; the graph pass guarantees it.
  bool channels_last_x = false, channels_last_y = false;
  // With channels_last_*, oneDNN's blocked nChw16c order instead of NHWC (channels a multiple of 16, so
  // the byte count is the plain tensor's): what Winograd convolutions read and write, kept between them
  // and their 1x1 neighbours so that no reorder runs in between.
  bool blocked_x = false, blocked_y = false;
};

// The activation of `ops` on one value, for the paths where oneDNN does not apply it.
inline float ApplyConvActivation(const ConvPostOps& ops, float v) {
  auto clamp01 = [](float t) { return t < 0 ? 0.0f : (t > 1 ? 1.0f : t); };
  switch (ops.activation) {
    case ConvPostOps::Activation::kRelu:
      return v > 0 ? v : 0;
    case ConvPostOps::Activation::kClip:
      return v < ops.min ? ops.min : (v > ops.max ? ops.max : v);
    case ConvPostOps::Activation::kHardSwish:
      return v * clamp01(v * (1.0f / 6.0f) + 0.5f);
    case ConvPostOps::Activation::kHardSigmoid:
      return clamp01(ops.alpha * v + ops.beta);
    case ConvPostOps::Activation::kSigmoid:  // exp of a non-positive argument only: no overflow
      return v >= 0 ? 1.0f / (1.0f + std::exp(-v)) : std::exp(v) / (1.0f + std::exp(v));
    case ConvPostOps::Activation::kNone:
      break;
  }
  return v;
}

// Whether a float32 2-D convolution with these parameters runs as a Winograd convolution (see
// conv_dnnl.cc), given TESSERA_CONV_WINOGRAD. `out` is the output's spatial size.
bool ConvUsesWinograd(const std::vector<int64_t>& kernel, const std::vector<int64_t>& stride,
                      const std::vector<int64_t>& dilation, int64_t group, int64_t in_c, int64_t out_c,
                      const std::vector<int64_t>& out);

class DnnlConv {
 public:
  // `transpose` selects deconvolution. `constant_weights` (may be undefined) is the node's constant W in
  // ONNX layout (Conv [M, C/group, k...], ConvTranspose [C, M/group, k...]); this object holds it until
  // DropConstantWeights.
  // `post_ops` (Conv only) are built into the primitive.
  DnnlConv(bool transpose, int64_t group, Tensor constant_weights, ConvPostOps post_ops = {});
  ~DnnlConv();

  // y = conv(x, w) + bias for float32 tensors (bias may be null), then the post-ops; with `sum`, `addend`
  // holds z in y's plain layout; it must not overlap x or y. `w` is used only when the weights are
  // not constant. Returns false, writing nothing, when oneDNN has no implementation for this problem so
  // the caller can take the reference path.
  StatusOr<bool> Run(const WindowGeometry& g, const Shape& x_shape, const Shape& w_shape, int64_t out_channels,
                     const float* x, const float* w, const float* bias, float* y,
                     const float* addend = nullptr);

  // Builds (and packs weights for) the primitive of one input shape ahead of the first run, so that a
  // model with static shapes pays for oneDNN's JIT at load time.
  void Prepare(const WindowGeometry& g, const Shape& x_shape, const Shape& w_shape, int64_t out_channels,
               bool has_bias);

  // Whether Run for this problem can take `addend` == `y` (the sum post-op accumulates in place): oneDNN
  // takes the problem with the post-ops built in and no uncovered tail. Builds the plan if needed.
  bool SumsInPlace(const WindowGeometry& g, const Shape& x_shape, const Shape& w_shape, int64_t out_channels,
                   bool has_bias);

  // Lets go of the constant weights once every plan built so far runs on a packed copy of its own, so the
  // original can be freed; later plans pack from that copy, and Run's `w` may then be null. Returns
  // whether the original is gone (false, changing nothing, while some plan still needs it).
  bool DropConstantWeights();
  // The constant weights in ONNX layout, rebuilt from the packed copy after DropConstantWeights (for the
  // reference path, when oneDNN declines a later shape).
  StatusOr<Tensor> UnpackedWeights(const Shape& w_shape);

  // The implementation oneDNN chose for the last shape built (for tests and benchmarks).
  std::string last_impl() const;

 private:
  struct Plan;
  StatusOr<std::shared_ptr<Plan>> FindOrBuild(const WindowGeometry& g, const Shape& x_shape, const Shape& w_shape,
                                              int64_t out_channels, bool has_bias);

  bool transpose_;
  int64_t group_;
  Tensor constant_weights_;
  std::shared_ptr<dnnl::memory> packed_source_;  // set by DropConstantWeights: the weights from then on
  dnnl::memory::desc w_user_;                     // the ONNX layout, for UnpackedWeights
  ConvPostOps post_ops_;
  mutable std::mutex mutex_;
  std::map<std::vector<int64_t>, std::shared_ptr<Plan>> plans_;  // shared: a run keeps its plan alive
  std::string last_impl_;
};

}  // namespace tessera
