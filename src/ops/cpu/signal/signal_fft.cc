// FftPlan (see signal_fft.h): table construction and the three transform methods.
#include "ops/cpu/signal/signal_fft.h"

#include <cmath>
#include <numbers>
#include <utility>

namespace tessera {
namespace {

// std::complex's operator* checks for NaN/inf on every call (C99 Annex G); the plain product is enough
// here and several times faster.
inline Complex Mul(Complex a, Complex b) {
  return {a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()};
}

StatusOr<Tensor> AllocateComplex(int64_t count) { return Tensor::AllocateUninitialized(DType::kFloat64, {count, 2}); }

Complex* ComplexData(Tensor& t) { return reinterpret_cast<Complex*>(t.data<double>()); }
const Complex* ComplexData(const Tensor& t) { return reinterpret_cast<const Complex*>(t.data<double>()); }

// exp(-2*pi*i*k/m) for k < count.
void FillTwiddles(Complex* out, int64_t count, int64_t m) {
  for (int64_t k = 0; k < count; ++k) {
    const double angle = -2.0 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(m);
    out[k] = {std::cos(angle), std::sin(angle)};
  }
}

bool IsPowerOfTwo(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

}  // namespace

StatusOr<FftPlan> FftPlan::Create(int64_t n) {
  if (n < 1) return InvalidArgument("FFT length must be positive, got " + std::to_string(n));
  FftPlan plan;
  plan.n_ = n;
  if (IsPowerOfTwo(n)) {
    plan.method_ = Method::kRadix2;
    plan.m_ = n;
    TS_ASSIGN_OR_RETURN(plan.twiddles_, AllocateComplex(std::max<int64_t>(1, n / 2)));
    FillTwiddles(ComplexData(plan.twiddles_), std::max<int64_t>(1, n / 2), n);
    return plan;
  }
  if (n <= kDirectFftMaxLength) {
    plan.method_ = Method::kDirect;
    TS_ASSIGN_OR_RETURN(plan.twiddles_, AllocateComplex(n));
    FillTwiddles(ComplexData(plan.twiddles_), n, n);
    return plan;
  }
  // Bluestein: jk = (j^2 + k^2 - (k-j)^2) / 2 turns the transform into a linear convolution of
  // x[j]*c[j] with conj(c), c[k] = exp(-i*pi*k^2/n), computed as a circular one of length m >= 2n-1.
  if (n > (int64_t{1} << 40)) return ResourceExhausted("FFT length " + std::to_string(n) + " is too large");
  plan.method_ = Method::kBluestein;
  int64_t m = 1;
  while (m < 2 * n - 1) m <<= 1;
  plan.m_ = m;
  TS_ASSIGN_OR_RETURN(plan.twiddles_, AllocateComplex(m / 2));
  FillTwiddles(ComplexData(plan.twiddles_), m / 2, m);
  TS_ASSIGN_OR_RETURN(plan.chirp_, AllocateComplex(n));
  Complex* chirp = ComplexData(plan.chirp_);
  // k^2 mod 2n, updated incrementally ((k+1)^2 = k^2 + 2k + 1) so it never overflows.
  int64_t k2 = 0;
  for (int64_t k = 0; k < n; ++k) {
    const double angle = -std::numbers::pi * static_cast<double>(k2) / static_cast<double>(n);
    chirp[k] = {std::cos(angle), std::sin(angle)};
    k2 = (k2 + 2 * k + 1) % (2 * n);
  }
  TS_ASSIGN_OR_RETURN(plan.chirp_fft_, AllocateComplex(m));
  Complex* b = ComplexData(plan.chirp_fft_);
  for (int64_t k = 0; k < m; ++k) b[k] = 0;
  b[0] = std::conj(chirp[0]);
  for (int64_t k = 1; k < n; ++k) b[k] = b[m - k] = std::conj(chirp[k]);
  Radix2(b, m, ComplexData(plan.twiddles_), false);
  return plan;
}

void FftPlan::Radix2(Complex* a, int64_t m, const Complex* twiddles, bool inverse) {
  for (int64_t i = 1, j = 0; i < m; ++i) {  // bit-reversal permutation
    int64_t bit = m >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  for (int64_t len = 2; len <= m; len <<= 1) {
    const int64_t half = len / 2, step = m / len;
    for (int64_t i = 0; i < m; i += len) {
      for (int64_t k = 0; k < half; ++k) {
        const Complex w = inverse ? std::conj(twiddles[k * step]) : twiddles[k * step];
        const Complex u = a[i + k], v = Mul(a[i + k + half], w);
        a[i + k] = u + v;
        a[i + k + half] = u - v;
      }
    }
  }
}

void FftPlan::Transform(const Complex* in, Complex* out, bool inverse, FftScratch& scratch) const {
  switch (method_) {
    case Method::kRadix2:
      for (int64_t i = 0; i < n_; ++i) out[i] = in[i];
      Radix2(out, n_, ComplexData(twiddles_), inverse);
      return;
    case Method::kDirect: {
      const Complex* tw = ComplexData(twiddles_);
      for (int64_t k = 0; k < n_; ++k) {
        Complex sum = 0;
        int64_t index = 0;  // j*k mod n
        for (int64_t j = 0; j < n_; ++j) {
          sum += Mul(in[j], inverse ? std::conj(tw[index]) : tw[index]);
          index += k;
          if (index >= n_) index -= n_;
        }
        out[k] = sum;
      }
      return;
    }
    case Method::kBluestein: {
      // The inverse transform is conj(forward(conj(x))), so only the forward chirp is tabled.
      const Complex* chirp = ComplexData(chirp_);
      const Complex* b = ComplexData(chirp_fft_);
      const Complex* tw = ComplexData(twiddles_);
      scratch.work.resize(static_cast<size_t>(m_));
      Complex* a = scratch.work.data();
      for (int64_t k = 0; k < n_; ++k) a[k] = Mul(inverse ? std::conj(in[k]) : in[k], chirp[k]);
      for (int64_t k = n_; k < m_; ++k) a[k] = 0;
      Radix2(a, m_, tw, false);
      for (int64_t k = 0; k < m_; ++k) a[k] = Mul(a[k], b[k]);
      Radix2(a, m_, tw, true);
      const double scale = 1.0 / static_cast<double>(m_);
      for (int64_t k = 0; k < n_; ++k) {
        const Complex v = Mul(a[k], chirp[k]) * scale;
        out[k] = inverse ? std::conj(v) : v;
      }
      return;
    }
  }
}

}  // namespace tessera
