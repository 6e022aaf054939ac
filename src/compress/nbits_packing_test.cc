// MatMulNBits packing: round trips within half a step, the nibble and zero-point layout, padding of an
// odd K, symmetric blocks without zero points, and agreement with the MatMulNBits kernel itself (the
// encoder here must be the exact inverse of the decoder in ops/cpu/quantization/).
#include "compress/nbits_packing.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "testing/one_node_model.h"
#include "testing/tensor_values.h"

namespace tessera::compress {
namespace {

std::vector<float> RandomWeight(int64_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.5f);
  std::vector<float> w(static_cast<size_t>(count));
  for (float& v : w) v = dist(rng);
  return w;
}

// Every element comes back within half a quantization step of its block.
void ExpectRoundTrip(const std::vector<float>& w, const NBitsPacked& p, uint32_t seed) {
  const std::vector<float> back = UnpackNBits(p);
  ASSERT_EQ(back.size(), w.size());
  for (int64_t k = 0; k < p.K; ++k) {
    for (int64_t n = 0; n < p.N; ++n) {
      const float step = p.scales[static_cast<size_t>(n * p.k_blocks + k / p.block_size)];
      const size_t i = static_cast<size_t>(k * p.N + n);
      ASSERT_LE(std::fabs(back[i] - w[i]), 0.5f * step + 1e-6f) << "seed " << seed << " k " << k << " n " << n;
    }
  }
}

TEST(NBitsPackingTest, FourBitRoundTripWithZeroPoints) {
  const uint32_t seed = 11;
  const auto w = RandomWeight(64 * 8, seed);
  const NBitsPacked p = PackNBits(w.data(), 64, 8, false, 4, 32, false);
  EXPECT_EQ(p.k_blocks, 2);
  EXPECT_EQ(p.blob_size, 16);
  EXPECT_EQ(p.b.size(), 8u * 2 * 16);
  EXPECT_EQ(p.zero_points.size(), 8u);  // two 4-bit zero points per byte, one byte per row of N
  ExpectRoundTrip(w, p, seed);
}

TEST(NBitsPackingTest, EightBitRoundTrip) {
  const uint32_t seed = 12;
  const auto w = RandomWeight(48 * 5, seed);
  const NBitsPacked p = PackNBits(w.data(), 48, 5, false, 8, 16, false);
  EXPECT_EQ(p.blob_size, 16);
  EXPECT_EQ(p.zero_points.size(), 5u * 3);
  ExpectRoundTrip(w, p, seed);
}

TEST(NBitsPackingTest, LowNibbleHoldsTheEvenK) {
  // K = 16 values 0..15 of one column: asymmetric 4-bit maps them exactly onto codes 0..15.
  std::vector<float> w(16);
  for (int k = 0; k < 16; ++k) w[static_cast<size_t>(k)] = static_cast<float>(k);
  const NBitsPacked p = PackNBits(w.data(), 16, 1, false, 4, 16, false);
  EXPECT_FLOAT_EQ(p.scales[0], 1.0f);
  EXPECT_EQ(ZeroPointCode(p, 0, 0), 0);
  EXPECT_EQ(p.b[0], 0x10);  // k=0 in the low nibble, k=1 in the high one
  EXPECT_EQ(p.b[7], 0xFE);
}

TEST(NBitsPackingTest, OddKIsPaddedWithTheZeroPointCode) {
  const uint32_t seed = 13;
  const auto w = RandomWeight(37 * 3, seed);
  const NBitsPacked p = PackNBits(w.data(), 37, 3, false, 4, 16, false);
  EXPECT_EQ(p.k_blocks, 3);
  EXPECT_EQ(p.zero_points.size(), 3u * 2);  // ceil(3 blocks * 4 bits / 8) bytes per row
  for (int64_t n = 0; n < 3; ++n) {
    for (int64_t k = 37; k < 48; ++k) EXPECT_EQ(QuantizedCode(p, n, k), ZeroPointCode(p, n, 2)) << "k " << k;
  }
  ExpectRoundTrip(w, p, seed);
}

TEST(NBitsPackingTest, SymmetricWritesNoZeroPointsAndCentresOnTheMidpoint) {
  const uint32_t seed = 14;
  const auto w = RandomWeight(32 * 4, seed);
  const NBitsPacked p = PackNBits(w.data(), 32, 4, false, 4, 32, true);
  EXPECT_TRUE(p.zero_points.empty());
  EXPECT_EQ(ZeroPointCode(p, 0, 0), 8);
  for (int64_t n = 0; n < 4; ++n) {
    for (int64_t k = 0; k < 32; ++k) EXPECT_GE(QuantizedCode(p, n, k), 1);  // [-7, 7] around 8
  }
  ExpectRoundTrip(w, p, seed);
}

TEST(NBitsPackingTest, TransposedWeightPacksTheSame) {
  const uint32_t seed = 15;
  const auto kn = RandomWeight(40 * 6, seed);
  std::vector<float> nk(kn.size());
  for (int64_t k = 0; k < 40; ++k) {
    for (int64_t n = 0; n < 6; ++n) nk[static_cast<size_t>(n * 40 + k)] = kn[static_cast<size_t>(k * 6 + n)];
  }
  const NBitsPacked a = PackNBits(kn.data(), 40, 6, false, 4, 16, false);
  const NBitsPacked b = PackNBits(nk.data(), 40, 6, true, 4, 16, false);
  EXPECT_EQ(a.b, b.b);
  EXPECT_EQ(a.scales, b.scales);
  EXPECT_EQ(a.zero_points, b.zero_points);
}

// The kernel multiplies by exactly the weight UnpackNBits describes.
void ExpectKernelAgrees(int64_t K, int64_t N, int bits, int64_t block, bool symmetric, uint32_t seed) {
  const auto w = RandomWeight(K * N, seed);
  const NBitsPacked p = PackNBits(w.data(), K, N, false, bits, block, symmetric);
  const int64_t M = 3;
  const auto a = RandomWeight(M * K, seed + 100);
  testing::OneNodeModel m{"MatMulNBits", 1, "com.microsoft"};
  m.Input("A", testing::F32({M, K}, a))
      .Input("B", Tensor::FromVector(DType::kUInt8, {p.N, p.k_blocks, p.blob_size}, p.b), true)
      .Input("scales", testing::F32({p.N * p.k_blocks}, p.scales), true);
  if (!symmetric) {
    m.Input("zero_points",
            Tensor::FromVector(DType::kUInt8, {static_cast<int64_t>(p.zero_points.size())}, p.zero_points), true);
  }
  m.Output("Y", 2).Int("K", K).Int("N", N).Int("bits", bits).Int("block_size", block);
  auto out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  const std::vector<float> back = UnpackNBits(p);
  const std::vector<float> y = testing::FloatValues((*out)[0]);
  for (int64_t r = 0; r < M; ++r) {
    for (int64_t n = 0; n < N; ++n) {
      double want = 0.0;
      for (int64_t k = 0; k < K; ++k) {
        want += static_cast<double>(a[static_cast<size_t>(r * K + k)]) * back[static_cast<size_t>(k * N + n)];
      }
      EXPECT_NEAR(y[static_cast<size_t>(r * N + n)], want, 1e-3) << "seed " << seed << " r " << r << " n " << n;
    }
  }
}

TEST(NBitsPackingTest, KernelReadsWhatWasPacked) {
  ExpectKernelAgrees(64, 8, 4, 32, false, 21);
  ExpectKernelAgrees(37, 5, 4, 16, false, 22);
  ExpectKernelAgrees(37, 5, 4, 16, true, 23);
  ExpectKernelAgrees(50, 7, 8, 32, false, 24);
  ExpectKernelAgrees(50, 7, 8, 16, true, 25);
}

}  // namespace
}  // namespace tessera::compress
