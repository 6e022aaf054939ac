// FftPlan: a complex discrete Fourier transform of one fixed length, for DFT and STFT.
//
// Any length runs in O(n log n): powers of two use an iterative radix-2 transform; short other lengths
// (up to kDirectFftMaxLength) a direct sum over a twiddle table, which is exact and cheap there; longer
// ones Bluestein's chirp-z algorithm, which rewrites the transform as a convolution done with three
// power-of-two transforms. Everything is computed in double so float32 results are correctly rounded
// for all practical lengths.
//
// Tables live in Tensors, so an absurd length fails with ResourceExhausted at Create instead of
// aborting. A plan is immutable after Create and may be shared by threads; each thread passes its own
// scratch (FftScratch) to Transform.
#pragma once

#include <complex>
#include <cstdint>
#include <vector>

#include "tessera/tensor.h"

namespace tessera {

constexpr int64_t kDirectFftMaxLength = 64;

using Complex = std::complex<double>;

// Per-thread working memory for FftPlan::Transform; sized on first use.
struct FftScratch {
  std::vector<Complex> work;
};

class FftPlan {
 public:
  // A plan for length n >= 1.
  static StatusOr<FftPlan> Create(int64_t n);

  int64_t size() const { return n_; }

  // out[k] = sum_j in[j] * exp(-+2*pi*i*j*k/n): the minus sign forward, plus for `inverse`, with no
  // 1/n scaling. `in` and `out` each hold size() values and must not overlap.
  void Transform(const Complex* in, Complex* out, bool inverse, FftScratch& scratch) const;

 private:
  FftPlan() = default;
  // Radix-2 in place on `data` of length `m` (a power of two); `twiddles` holds exp(-2*pi*i*k/m), k < m/2.
  static void Radix2(Complex* data, int64_t m, const Complex* twiddles, bool inverse);

  int64_t n_ = 0;
  enum class Method { kRadix2, kDirect, kBluestein } method_ = Method::kDirect;
  int64_t m_ = 0;     // radix-2 length: n itself, or Bluestein's padded length (>= 2n - 1)
  Tensor twiddles_;   // complex128 as pairs of doubles: m/2 radix-2 twiddles, or n direct ones
  Tensor chirp_;      // Bluestein: exp(-i*pi*k^2/n), k < n
  Tensor chirp_fft_;  // Bluestein: the forward transform of the padded conjugate chirp, length m
};

}  // namespace tessera
