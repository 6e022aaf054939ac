// Non-overlapping ConvTranspose (see conv_transpose_patch.h).
#include "ops/cpu/conv/conv_transpose_patch.h"

#include <algorithm>

namespace tessera {

bool IsConvTransposePatch(const WindowGeometry& g) {
  if (g.rank != 2) return false;
  for (size_t i = 0; i < 2; ++i) {
    if (g.kernel[i] != g.stride[i] || g.dilation[i] != 1 || g.pad_begin[i] != 0 || g.pad_end[i] != 0 ||
        g.out[i] != g.in[i] * g.stride[i])
      return false;
  }
  return true;
}

ConvTransposePatchWeights::ConvTransposePatchWeights(const Tensor& w) {
  if (!w.defined() || w.dtype() != DType::kFloat32 || w.rank() != 4 || w.element_count() == 0) return;
  in_c_ = w.dim(0), out_c_ = w.dim(1), kh_ = w.dim(2), kw_ = w.dim(3);
  packed_.resize(static_cast<size_t>(w.element_count()));
  const float* src = w.data<float>();
  const int64_t k = kh_ * kw_;
  for (int64_t c = 0; c < in_c_; ++c)
    for (int64_t m = 0; m < out_c_; ++m)
      for (int64_t i = 0; i < k; ++i)
        packed_[static_cast<size_t>((m * k + i) * in_c_ + c)] = src[(c * out_c_ + m) * k + i];
}

namespace {

// acc[j * w + col] += sum_c wk[j * in_c + c] * x[c * plane + col] for j < kw: the inner loops of one output
// row. Cloned per ISA (the build assumes no -march; the loader picks the clone the CPU runs), since the
// column loop is what vectorizes.
__attribute__((target_clones("avx512f", "avx2", "default"))) void AccumulatePatchRow(
    const float* wk, const float* x, int64_t in_c, int64_t plane, int64_t w, int64_t kw, float* acc) {
  for (int64_t c = 0; c < in_c; ++c) {
    const float* xc = x + c * plane;
    for (int64_t j = 0; j < kw; ++j) {
      const float wv = wk[j * in_c + c];
      float* a = acc + j * w;
      for (int64_t col = 0; col < w; ++col) a[col] += wv * xc[col];
    }
  }
}

}  // namespace

bool ConvTransposePatchWeights::Fits(int64_t in_channels, int64_t out_channels, const WindowGeometry& g) const {
  return defined() && in_channels == in_c_ && out_channels == out_c_ && g.rank == 2 && g.kernel[0] == kh_ &&
         g.kernel[1] == kw_;
}

void ConvTransposePatchWeights::Run(const WindowGeometry& g, int64_t batch, const float* x, const float* bias,
                                    float* y, ThreadPool& pool) const {
  const int64_t h = g.in[0], w = g.in[1], oh = g.out[0], ow = g.out[1];
  const int64_t plane = h * w;
  // One task per (image, output channel, input row): it writes output rows h*kh .. h*kh+kh-1 of that
  // channel, which no other task touches. Rows of a task share the input row, read from cache.
  const int64_t tasks = batch * out_c_ * h;
  const int64_t min_chunk = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, in_c_ * w * kh_ * kw_));
  pool.ParallelFor(tasks, min_chunk, [&](int64_t begin, int64_t end) {
    std::vector<float> acc(static_cast<size_t>(kw_ * w));
    for (int64_t t = begin; t < end; ++t) {
      const int64_t n = t / (out_c_ * h), m = (t / h) % out_c_, row = t % h;
      const float* xrow = x + n * in_c_ * plane + row * w;
      const float b = bias ? bias[m] : 0.0f;
      for (int64_t i = 0; i < kh_; ++i) {
        // acc[j * w + col] = b + sum_c W[c, m, i, j] * x[n, c, row, col]: a contiguous row per j.
        std::fill(acc.begin(), acc.end(), b);
        AccumulatePatchRow(packed_.data() + (m * kh_ + i) * kw_ * in_c_, xrow, in_c_, plane, w, kw_, acc.data());
        float* out = y + ((n * out_c_ + m) * oh + row * kh_ + i) * ow;
        for (int64_t col = 0; col < w; ++col)
          for (int64_t j = 0; j < kw_; ++j) out[col * kw_ + j] = acc[static_cast<size_t>(j * w + col)];
      }
    }
  });
}

}  // namespace tessera
