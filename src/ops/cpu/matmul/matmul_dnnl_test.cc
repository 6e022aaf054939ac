// DnnlMatMul's slab-by-slab packing of a constant B: the product matches a double-precision reference for
// a B whose outer dimension is no multiple of the packed layout's block and for a transposed B (Gemm's
// strides), a consumable B in pages of its own is handed back as it is packed, and one that is not
// consumable keeps its contents.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/resident_pages.h"
#include "ops/cpu/matmul/matmul_dnnl.h"

namespace tessera {
namespace {

// Large enough to be packed in several slabs (more than twice the 2 MiB slab).
constexpr int64_t kRows = 1100;  // K: 1100 = 68 x 16 + 12, a remainder slab smaller than one block
constexpr int64_t kCols = 1000;  // N

// B in pages of its own, registered as a weight's (what the loader gives large weights).
Tensor RandomWeight(uint32_t seed, int64_t rows, int64_t cols) {
  auto t = AllocateWeightPages(DType::kFloat32, {rows, cols});
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  float* p = t.value().data<float>();
  for (int64_t i = 0; i < rows * cols; ++i) p[i] = dist(rng);
  return std::move(t).value();
}

std::vector<float> RandomRows(uint32_t seed, int64_t count) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(count));
  for (float& x : v) x = dist(rng);
  return v;
}

// Largest |C - A x B| for B given by dims [k, n] and strides (in elements) over `b`.
double MaxError(const std::vector<float>& a, const std::vector<float>& b, const DnnlMatrixDesc& b_desc,
                const std::vector<float>& c, int64_t m) {
  const int64_t k = b_desc.dims[0], n = b_desc.dims[1];
  double worst = 0;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t x = 0; x < k; ++x) s += double(a[i * k + x]) * b[x * b_desc.strides[0] + j * b_desc.strides[1]];
      worst = std::max(worst, std::abs(s - c[static_cast<size_t>(i * n + j)]));
    }
  }
  return worst;
}

size_t ResidentPages(const void* data, size_t bytes) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> resident((bytes + page - 1) / page);
  EXPECT_EQ(mincore(const_cast<void*>(data), bytes, resident.data()), 0);
  size_t count = 0;
  for (unsigned char r : resident) count += r & 1;
  return count;
}

TEST(DnnlMatMulTest, SlabPackedWeightWithPartialLastBlockMatchesReference) {
  const uint32_t seed = 11;
  Tensor b = RandomWeight(seed, kRows, kCols);
  const std::vector<float> b_copy(b.data<float>(), b.data<float>() + kRows * kCols);
  DnnlMatMul dnnl;
  dnnl.SetConstantB(b.data<float>());
  for (int64_t m : {int64_t{7}, int64_t{33}}) {
    const std::vector<float> a = RandomRows(seed + static_cast<uint32_t>(m), m * kRows);
    std::vector<float> c(static_cast<size_t>(m * kCols));
    const DnnlMatrixDesc b_desc = ContiguousMatrix({kRows, kCols});
    ASSERT_TRUE(dnnl.Run(a.data(), ContiguousMatrix({m, kRows}), b.data<float>(), b_desc, c.data(),
                         ContiguousMatrix({m, kCols}), 1)
                    .ok());
    EXPECT_LT(MaxError(a, b_copy, b_desc, c, m), 1e-3) << "seed " << seed << ", m " << m;
  }
  // Not consumable: the original is intact.
  EXPECT_EQ(std::memcmp(b.raw_data(), b_copy.data(), b.byte_size()), 0);
}

TEST(DnnlMatMulTest, SlabPackedTransposedWeightMatchesReference) {
  const uint32_t seed = 12;
  // Stored [N, K] and read as [K, N] through strides, as Gemm with transB reads it.
  Tensor b = RandomWeight(seed, kCols, kRows);
  const std::vector<float> b_copy(b.data<float>(), b.data<float>() + kRows * kCols);
  DnnlMatrixDesc b_desc{{kRows, kCols}, {1, kRows}};
  DnnlMatMul dnnl;
  dnnl.SetConstantB(b.data<float>(), /*consumable=*/true);
  const int64_t m = 5;
  const std::vector<float> a = RandomRows(seed + 1, m * kRows);
  std::vector<float> c(static_cast<size_t>(m * kCols));
  ASSERT_TRUE(
      dnnl.Run(a.data(), ContiguousMatrix({m, kRows}), b.data<float>(), b_desc, c.data(), ContiguousMatrix({m, kCols}), 1)
          .ok());
  EXPECT_LT(MaxError(a, b_copy, b_desc, c, m), 1e-3) << "seed " << seed;
}

TEST(DnnlMatMulTest, ConsumableWeightPagesAreHandedBackAsTheyArePacked) {
  const uint32_t seed = 13;
  Tensor b = RandomWeight(seed, kRows, kCols);
  const std::vector<float> b_copy(b.data<float>(), b.data<float>() + kRows * kCols);
  ASSERT_EQ(ResidentPages(b.raw_data(), b.byte_size()) * static_cast<size_t>(sysconf(_SC_PAGESIZE)),
            (b.byte_size() + sysconf(_SC_PAGESIZE) - 1) / sysconf(_SC_PAGESIZE) * sysconf(_SC_PAGESIZE));
  DnnlMatMul dnnl;
  dnnl.SetConstantB(b.data<float>(), /*consumable=*/true);
  const DnnlMatrixDesc b_desc = ContiguousMatrix({kRows, kCols});
  const int64_t m = 9;
  const std::vector<float> a = RandomRows(seed + 1, m * kRows);
  std::vector<float> c(static_cast<size_t>(m * kCols));
  ASSERT_TRUE(
      dnnl.Run(a.data(), ContiguousMatrix({m, kRows}), b.data<float>(), b_desc, c.data(), ContiguousMatrix({m, kCols}), 1)
          .ok());
  // All but the page that the weight's end shares with no one (pages go only when wholly inside it).
  EXPECT_LE(ResidentPages(b.raw_data(), b.byte_size()), 1u);
  EXPECT_LT(MaxError(a, b_copy, b_desc, c, m), 1e-3) << "seed " << seed;
  // Other shapes, before and after the kernel lets go of the original, read the packed copy.
  const int64_t m2 = 2;
  const std::vector<float> a2 = RandomRows(seed + 2, m2 * kRows);
  std::vector<float> c2(static_cast<size_t>(m2 * kCols));
  ASSERT_TRUE(dnnl.Run(a2.data(), ContiguousMatrix({m2, kRows}), b.data<float>(), b_desc, c2.data(),
                       ContiguousMatrix({m2, kCols}), 1)
                  .ok());
  EXPECT_LT(MaxError(a2, b_copy, b_desc, c2, m2), 1e-3) << "seed " << seed;
  ASSERT_TRUE(dnnl.DropConstantSource());
  b = Tensor();
  ASSERT_TRUE(
      dnnl.Run(a.data(), ContiguousMatrix({m, kRows}), nullptr, b_desc, c.data(), ContiguousMatrix({m, kCols}), 1).ok());
  EXPECT_LT(MaxError(a, b_copy, b_desc, c, m), 1e-3) << "seed " << seed;
}

TEST(DnnlMatMulTest, HeapWeightIsNeverDiscarded) {
  // Memory outside any registered region (the heap) must keep its contents even when called consumable.
  const uint32_t seed = 14;
  std::vector<float> b = RandomRows(seed, kRows * kCols);
  const std::vector<float> b_copy = b;
  DnnlMatMul dnnl;
  dnnl.SetConstantB(b.data(), /*consumable=*/true);
  const int64_t m = 3;
  const std::vector<float> a = RandomRows(seed + 1, m * kRows);
  std::vector<float> c(static_cast<size_t>(m * kCols));
  ASSERT_TRUE(dnnl.Run(a.data(), ContiguousMatrix({m, kRows}), b.data(), ContiguousMatrix({kRows, kCols}), c.data(),
                       ContiguousMatrix({m, kCols}), 1)
                  .ok());
  EXPECT_EQ(b, b_copy);
}

}  // namespace
}  // namespace tessera
