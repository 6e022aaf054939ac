// The decode-time float32 product C = A x B for a few rows of A against a constant B already packed by
// oneDNN: its AVX-512 brgemm kernels (oneDNN 2.6, every decoder shape tried, M = 1, 4 and 64) reorder B [K, N] into
// panels of 64 columns, each panel K_padded x 64 floats with row k at k * 64 (oneDNN's BA16a64b: blocks of
// 16 rows of 64 columns, K padded to a multiple of 16, N to one of 64, both with zeros). At M <= 4 the
// product only has to read B once; oneDNN's matmul reads it at about 14 GB/s of this core's 22, this loop
// streams each panel front to back. Reading the packed copy keeps one copy of the weight: no second layout.
// Where oneDNN packs some other layout, DnnlMatMul::PackedPanels says so and the product stays on oneDNN.
#pragma once

#include <cstdint>

namespace tessera {

struct PanelMatrix {
  const float* data = nullptr;
  int64_t k = 0, n = 0;  // logical dims of B
  int64_t k_padded = 0;  // rows per panel (K rounded up to 16)
};
constexpr int64_t kPanelColumns = 64;
constexpr int kPanelGemvMaxRows = 4;

// C[r, n] = sum_k A[r, k] * B[k, n] for r < rows (1..kPanelGemvMaxRows) and the columns of panels
// [p0, p1); A has rows of `a_stride` floats, C of `c_stride`. Uses AVX-512 where the CPU has it.
void PanelGemv(const PanelMatrix& b, const float* a, int rows, int64_t a_stride, int64_t p0, int64_t p1, float* c,
               int64_t c_stride);
// The portable loop, which the AVX-512 one is tested against.
void PanelGemvScalar(const PanelMatrix& b, const float* a, int rows, int64_t a_stride, int64_t p0, int64_t p1,
                     float* c, int64_t c_stride);

}  // namespace tessera
