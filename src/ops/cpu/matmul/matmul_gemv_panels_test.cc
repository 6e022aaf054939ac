// PanelGemv against a double-precision reference: hand-packed panels with ragged K and N (padding rows and
// columns), 1-4 rows, panel ranges; and the packed layout oneDNN actually produces, read back as panels.
#include "ops/cpu/matmul/matmul_gemv_panels.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "ops/cpu/matmul/matmul_dnnl.h"

namespace tessera {
namespace {

// B [k, n] row-major into zero-padded panels of 64 columns, k_padded rows each.
std::vector<float> PackPanels(const std::vector<float>& b, int64_t k, int64_t n, int64_t k_padded) {
  const int64_t panels = (n + kPanelColumns - 1) / kPanelColumns;
  std::vector<float> out(static_cast<size_t>(panels * k_padded * kPanelColumns), 0.0f);
  for (int64_t x = 0; x < k; ++x) {
    for (int64_t j = 0; j < n; ++j) {
      out[static_cast<size_t>((j / kPanelColumns) * k_padded * kPanelColumns + x * kPanelColumns + j % kPanelColumns)] =
          b[static_cast<size_t>(x * n + j)];
    }
  }
  return out;
}

double Reference(const std::vector<float>& a, int64_t a_stride, const std::vector<float>& b, int64_t k, int64_t n,
                 int r, int64_t j) {
  double s = 0;
  for (int64_t x = 0; x < k; ++x) {
    s += double(a[static_cast<size_t>(r * a_stride + x)]) * b[static_cast<size_t>(x * n + j)];
  }
  return s;
}

TEST(PanelGemvTest, RaggedShapesAndRowCountsMatchReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int trial = 0; trial < 12; ++trial) {
    const int64_t k = std::uniform_int_distribution<int64_t>(1, 300)(rng);
    const int64_t n = std::uniform_int_distribution<int64_t>(1, 300)(rng);
    const int64_t k_padded = (k + 15) / 16 * 16;
    const int rows = 1 + trial % kPanelGemvMaxRows;
    const int64_t a_stride = k + trial % 3;  // rows of A need not be packed
    SCOPED_TRACE("K " + std::to_string(k) + " N " + std::to_string(n) + " rows " + std::to_string(rows));
    std::vector<float> b(static_cast<size_t>(k * n)), a(static_cast<size_t>(rows * a_stride));
    for (float& v : b) v = dist(rng);
    for (float& v : a) v = dist(rng);
    const std::vector<float> packed = PackPanels(b, k, n, k_padded);
    const PanelMatrix pm{packed.data(), k, n, k_padded};
    const int64_t panels = (n + kPanelColumns - 1) / kPanelColumns;
    const int64_t c_stride = n + 5;
    for (bool scalar : {false, true}) {
      std::vector<float> c(static_cast<size_t>(rows * c_stride), -7.0f);
      // Two calls over halves of the panels, as two pool threads would make.
      for (auto [p0, p1] : {std::pair<int64_t, int64_t>{0, panels / 2}, {panels / 2, panels}}) {
        (scalar ? PanelGemvScalar : PanelGemv)(pm, a.data(), rows, a_stride, p0, p1, c.data(), c_stride);
      }
      for (int r = 0; r < rows; ++r) {
        for (int64_t j = 0; j < n; ++j) {
          ASSERT_NEAR(c[static_cast<size_t>(r * c_stride + j)], Reference(a, a_stride, b, k, n, r, j), 1e-4 * k)
              << (scalar ? "scalar" : "vector") << " row " << r << " col " << j;
        }
        for (int64_t j = n; j < c_stride; ++j) ASSERT_EQ(c[static_cast<size_t>(r * c_stride + j)], -7.0f) << j;
      }
    }
  }
}

// The decode path relies on oneDNN packing a 2-D float32 B as 64-column panels; where it does (AVX-512
// brgemm), the packed copy must read back as B itself.
TEST(PanelGemvTest, OneDnnPackedConstantReadsBackAsPanels) {
  if (!__builtin_cpu_supports("avx512f")) GTEST_SKIP() << "oneDNN packs another layout without AVX-512";
  std::mt19937 rng(21);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const int64_t m = 6, k = 70, n = 130;
  std::vector<float> a(static_cast<size_t>(m * k)), b(static_cast<size_t>(k * n)), c(static_cast<size_t>(m * n));
  for (float& v : a) v = dist(rng);
  for (float& v : b) v = dist(rng);
  DnnlMatMul matmul;
  matmul.SetConstantB(b.data());
  ASSERT_TRUE(matmul.Run(a.data(), ContiguousMatrix({m, k}), b.data(), ContiguousMatrix({k, n}), c.data(),
                         ContiguousMatrix({m, n}), 1)
                  .ok());
  const PanelMatrix pm = matmul.PackedPanels();
  ASSERT_NE(pm.data, nullptr) << "oneDNN packed B in a layout PanelGemv does not read";
  ASSERT_EQ(pm.k, k);
  ASSERT_EQ(pm.n, n);
  for (int64_t x = 0; x < k; ++x) {
    for (int64_t j = 0; j < n; ++j) {
      ASSERT_EQ(pm.data[(j / kPanelColumns) * pm.k_padded * kPanelColumns + x * kPanelColumns + j % kPanelColumns],
                b[static_cast<size_t>(x * n + j)])
          << "k " << x << " n " << j;
    }
  }
}

}  // namespace
}  // namespace tessera
