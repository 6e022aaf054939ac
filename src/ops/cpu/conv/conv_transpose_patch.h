// ConvTranspose whose kernel equals its stride (DBNet's and U-Net's 2x2 stride-2 upsampling): the windows
// do not overlap, so every input pixel writes its own kh x kw patch of the output and the op is one small
// matrix product per pixel, [C] -> [M * kh * kw], with no accumulation across pixels.
//
// oneDNN 2.6 runs these on its blocked deconvolution kernel, padding M to 16: DBNet's 24 -> 1 head at
// 320x320 took 18-23 ms there (one output channel in sixteen), and 24 -> 24 at 160x160 took 11-12 ms;
// this kernel streams each input row once per output row.
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "ops/cpu/common/window_geometry.h"
#include "tessera/tensor.h"

namespace tessera {

// Whether `g` (a ConvTranspose window) is a 2-D non-overlapping patch: kernel == stride, dilation 1, no
// pads and no output padding, so out = in * stride exactly.
bool IsConvTransposePatch(const WindowGeometry& g);

// Constant float32 ConvTranspose weights [C, M, kh, kw] (group 1) repacked as [M, kh, kw, C], so that
// each output position's weights over the input channels are contiguous.
class ConvTransposePatchWeights {
 public:
  // Empty (defined() false) unless `w` is a float32 rank-4 tensor.
  explicit ConvTransposePatchWeights(const Tensor& w);
  bool defined() const { return !packed_.empty(); }
  // Whether these weights fit X with `in_channels` and an output of `out_channels`.
  bool Fits(int64_t in_channels, int64_t out_channels, const WindowGeometry& g) const;

  // y[N, M, H*kh, W*kw] from x[N, C, H, W], plus bias[M] when not null. `g` must satisfy
  // IsConvTransposePatch and Fits.
  void Run(const WindowGeometry& g, int64_t batch, const float* x, const float* bias, float* y,
           ThreadPool& pool) const;

 private:
  int64_t in_c_ = 0, out_c_ = 0, kh_ = 0, kw_ = 0;
  std::vector<float> packed_;  // [M, kh, kw, C]
};

}  // namespace tessera
