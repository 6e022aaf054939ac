// Non-overlapping ConvTranspose (see conv_transpose_patch.h).
#include "ops/cpu/conv/conv_transpose_patch.h"

#include <immintrin.h>

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

// V vectors of 16 columns of one output row of a kernel two wide, starting at column `col`: out[2 * c' + j]
// = b + sum_c wk_j[c] * x[c * plane + c'] with both sums of every column in registers over the channel loop
// (2V independent chains), then interleaved and stored once. `last` masks the columns of the last vector.
template <int V>
__attribute__((target("avx512f"))) inline void PatchColumnsWidth2(const float* w0, const float* w1, const float* x,
                                                                 int64_t in_c, int64_t plane, int64_t col, float b,
                                                                 __mmask16 last, bool stream, float* out) {
  __m512 a0[V], a1[V];
  for (int v = 0; v < V; ++v) a0[v] = a1[v] = _mm512_set1_ps(b);
  for (int64_t c = 0; c < in_c; ++c) {
    const __m512 v0 = _mm512_set1_ps(w0[c]), v1 = _mm512_set1_ps(w1[c]);
    const float* xc = x + c * plane + col;
    for (int v = 0; v < V; ++v) {
      const __m512 xv = _mm512_maskz_loadu_ps(v == V - 1 ? last : __mmask16{0xFFFF}, xc + 16 * v);
      a0[v] = _mm512_fmadd_ps(v0, xv, a0[v]);
      a1[v] = _mm512_fmadd_ps(v1, xv, a1[v]);
    }
  }
  const __m512i low = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i high = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  for (int v = 0; v < V; ++v) {
    // Column k of the vector becomes outputs 2k and 2k + 1: the first eight columns fill `low`.
    const unsigned columns = v == V - 1 ? static_cast<unsigned>(__builtin_popcount(last)) : 16u;
    const __mmask16 low_mask = columns >= 8 ? 0xFFFF : static_cast<__mmask16>((1u << (2 * columns)) - 1);
    const __mmask16 high_mask = columns <= 8 ? 0 : static_cast<__mmask16>((1u << (2 * (columns - 8))) - 1);
    float* o = out + 2 * (col + 16 * v);
    const __m512 first = _mm512_permutex2var_ps(a0[v], low, a1[v]);
    const __m512 second = _mm512_permutex2var_ps(a0[v], high, a1[v]);
    if (stream && columns == 16 && (reinterpret_cast<uintptr_t>(o) & 63) == 0) {
      _mm512_stream_ps(o, first);
      _mm512_stream_ps(o + 16, second);
      continue;
    }
    _mm512_mask_storeu_ps(o, low_mask, first);
    if (high_mask) _mm512_mask_storeu_ps(o + 16, high_mask, second);
  }
}

// One output row of a kernel two wide (DBNet's and U-Net's 2x2 upsampling), 64 columns at a time while
// they last. The generic AccumulatePatchRow reloads and stores its row sums for every input channel: 25%
// more CPU time on DBNet's 24 -> 24 ConvTranspose at 160x160. With `stream` (an output too large to stay
// in cache) full vectors bypass the cache, so the write does not first read each line in.
__attribute__((target("avx512f"))) void PatchRowWidth2Avx512(const float* wk, const float* x, int64_t in_c,
                                                             int64_t plane, int64_t w, float b, bool stream,
                                                             float* out) {
  const float* w0 = wk;
  const float* w1 = wk + in_c;
  int64_t col = 0;
  for (; col + 64 <= w; col += 64) PatchColumnsWidth2<4>(w0, w1, x, in_c, plane, col, b, 0xFFFF, stream, out);
  for (; col + 16 <= w; col += 16) PatchColumnsWidth2<1>(w0, w1, x, in_c, plane, col, b, 0xFFFF, stream, out);
  if (col < w) {
    const auto last = static_cast<__mmask16>((1u << (w - col)) - 1);
    PatchColumnsWidth2<1>(w0, w1, x, in_c, plane, col, b, last, stream, out);
  }
}

__attribute__((target("avx512f"))) void StreamFence() { _mm_sfence(); }

bool HasAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
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
  // channel, which no other task touches. (Output channels innermost, to keep the input row in L1, measured
  // no faster: the output's writes bound the time.)
  const int64_t tasks = batch * out_c_ * h;
  const int64_t min_chunk = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, in_c_ * w * kh_ * kw_));
  // Outputs past 4 MB (DBNet's 24 x 320 x 320 is 9.8 MB) are written around the cache.
  const bool stream = kw_ == 2 && HasAvx512() && batch * out_c_ * oh * ow * int64_t{sizeof(float)} > (int64_t{4} << 20);
  pool.ParallelFor(tasks, min_chunk, [&](int64_t begin, int64_t end) {
    std::vector<float> acc(static_cast<size_t>(kw_ * w));
    for (int64_t t = begin; t < end; ++t) {
      const int64_t n = t / (out_c_ * h), m = (t / h) % out_c_, row = t % h;
      const float* xrow = x + n * in_c_ * plane + row * w;
      const float b = bias ? bias[m] : 0.0f;
      for (int64_t i = 0; i < kh_; ++i) {
        if (kw_ == 2 && HasAvx512()) {
          PatchRowWidth2Avx512(packed_.data() + (m * kh_ + i) * kw_ * in_c_, xrow, in_c_, plane, w, b, stream,
                               y + ((n * out_c_ + m) * oh + row * kh_ + i) * ow);
          continue;
        }
        // acc[j * w + col] = b + sum_c W[c, m, i, j] * x[n, c, row, col]: a contiguous row per j.
        std::fill(acc.begin(), acc.end(), b);
        AccumulatePatchRow(packed_.data() + (m * kh_ + i) * kw_ * in_c_, xrow, in_c_, plane, w, kw_, acc.data());
        float* out = y + ((n * out_c_ + m) * oh + row * kh_ + i) * ow;
        for (int64_t col = 0; col < w; ++col)
          for (int64_t j = 0; j < kw_; ++j) out[col * kw_ + j] = acc[static_cast<size_t>(j * w + col)];
      }
    }
    if (stream) StreamFence();  // the streamed stores are visible before the pool's join
  });
}

}  // namespace tessera
