// MatMulNBits and GatherBlockQuantized through one-node models against double-precision references over
// every bits / block_size / zero-point form, the AVX-512 GEMV against the portable one, rejected
// attributes and shapes, and (with TESSERA_BENCH_NBITS=1) the decode GEMV's weight throughput.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <set>
#include <tuple>

#include "ops/cpu/quantization/matmul_nbits_panels.h"
#include "ops/cpu/quantization/matmul_nbits_weights.h"
#include "testing/one_node_model.h"

namespace tessera {
namespace {

using testing::OneNodeModel;

enum class ZeroPoints { kNone, kPacked, kFloat };

// A random quantized weight in MatMulNBits' layout, with its dequantized W [N, K] in double.
struct QuantizedWeight {
  int64_t k, n, bits, block, k_blocks, blob;
  std::vector<uint8_t> b, zp_packed;
  std::vector<float> scales, zp_float;
  std::vector<double> w;
};

QuantizedWeight MakeWeight(int64_t k, int64_t n, int64_t bits, int64_t block, ZeroPoints zp, std::mt19937& rng,
                           bool reference = true) {
  QuantizedWeight q{k, n, bits, block, (k + block - 1) / block, block * bits / 8, {}, {}, {}, {}, {}};
  const int levels = 1 << bits;
  q.b.resize(static_cast<size_t>(n * q.k_blocks * q.blob));
  for (auto& v : q.b) v = static_cast<uint8_t>(rng() & 0xFF);
  q.scales.resize(static_cast<size_t>(n * q.k_blocks));
  for (auto& s : q.scales) s = std::uniform_real_distribution<float>(0.001f, 0.05f)(rng);
  std::vector<double> zero(static_cast<size_t>(n * q.k_blocks), bits == 4 ? 8.0 : 128.0);
  if (zp == ZeroPoints::kPacked) {
    const int64_t row_bytes = (q.k_blocks * bits + 7) / 8;
    q.zp_packed.assign(static_cast<size_t>(n * row_bytes), 0);
    for (int64_t r = 0; r < n; ++r) {
      for (int64_t g = 0; g < q.k_blocks; ++g) {
        const int z = static_cast<int>(rng() % static_cast<unsigned>(levels));
        zero[static_cast<size_t>(r * q.k_blocks + g)] = z;
        uint8_t& byte = q.zp_packed[static_cast<size_t>(r * row_bytes + (bits == 8 ? g : g / 2))];
        byte = bits == 8 ? static_cast<uint8_t>(z) : static_cast<uint8_t>(byte | (g % 2 == 0 ? z : z << 4));
      }
    }
  } else if (zp == ZeroPoints::kFloat) {
    q.zp_float.resize(zero.size());
    for (size_t i = 0; i < zero.size(); ++i) {
      q.zp_float[i] = std::uniform_real_distribution<float>(0.0f, static_cast<float>(levels - 1))(rng);
      zero[i] = q.zp_float[i];
    }
  }
  if (!reference) return q;
  q.w.resize(static_cast<size_t>(n * k));
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t c = 0; c < k; ++c) {
      const uint8_t* blob = q.b.data() + (r * q.k_blocks + c / block) * q.blob;
      const int64_t j = c % block;
      const int v = bits == 8 ? blob[j] : (j % 2 == 0 ? blob[j / 2] & 0x0F : blob[j / 2] >> 4);
      const size_t gi = static_cast<size_t>(r * q.k_blocks + c / block);
      q.w[static_cast<size_t>(r * k + c)] = (v - zero[gi]) * static_cast<double>(q.scales[gi]);
    }
  }
  return q;
}

Tensor F32(const Shape& shape, const std::vector<float>& v) { return Tensor::FromVector(DType::kFloat32, shape, v); }
Tensor U8(const Shape& shape, const std::vector<uint8_t>& v) { return Tensor::FromVector(DType::kUInt8, shape, v); }

OneNodeModel NBitsModel(const QuantizedWeight& q, const Tensor& a, ZeroPoints zp, bool constant, bool bias,
                        std::mt19937& rng) {
  OneNodeModel m("MatMulNBits", 1, "com.microsoft");
  m.Input("a", a).Input("b", U8({q.n, q.k_blocks, q.blob}, q.b), constant);
  m.Input("scales", F32({q.n * q.k_blocks}, q.scales), constant);
  if (zp == ZeroPoints::kPacked) m.Input("zp", U8({static_cast<int64_t>(q.zp_packed.size())}, q.zp_packed), constant);
  if (zp == ZeroPoints::kFloat) m.Input("zp", F32({q.n * q.k_blocks}, q.zp_float), constant);
  if (zp == ZeroPoints::kNone && bias) m.SkipInput();
  if (bias) {
    std::vector<float> bv(static_cast<size_t>(q.n));
    for (auto& v : bv) v = std::uniform_real_distribution<float>(-1, 1)(rng);
    m.SkipInput().Input("bias", F32({q.n}, bv), constant);
  }
  m.Output("y", a.rank()).Int("K", q.k).Int("N", q.n).Int("bits", q.bits).Int("block_size", q.block);
  return m;
}

TEST(MatMulNBitsTest, EveryBitsBlockSizeAndZeroPointFormMatchesReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  int cases = 0;
  for (int64_t bits : {4, 8}) {
    for (int64_t block : {16, 32, 64, 128, 256}) {
      for (ZeroPoints zp : {ZeroPoints::kNone, ZeroPoints::kPacked, ZeroPoints::kFloat}) {
        for (int64_t m_rows : {1, 3, 6}) {  // GEMV with 1 and 3 rows, oneDNN tiles with 6
          const int64_t k = block * (1 + static_cast<int64_t>(rng() % 3)) - (rng() % 2 ? 0 : 7);  // also a ragged K
          const int64_t n = 1 + static_cast<int64_t>(rng() % 40);
          const bool constant = (cases % 4) != 1, bias = (cases % 3) == 0;
          SCOPED_TRACE("bits " + std::to_string(bits) + " block " + std::to_string(block) + " zp " +
                       std::to_string(static_cast<int>(zp)) + " M " + std::to_string(m_rows) + " K " +
                       std::to_string(k) + " N " + std::to_string(n) + (constant ? " constant" : " fed"));
          QuantizedWeight q = MakeWeight(k, n, bits, block, zp, rng);
          std::vector<float> a(static_cast<size_t>(m_rows * k));
          for (auto& v : a) v = std::uniform_real_distribution<float>(-2, 2)(rng);
          std::mt19937 bias_rng(static_cast<unsigned>(cases));
          OneNodeModel model = NBitsModel(q, F32({m_rows, k}, a), zp, constant, bias, bias_rng);
          auto out = model.Run();
          ASSERT_TRUE(out.ok()) << out.status().message();
          ASSERT_EQ((*out)[0].shape(), (Shape{m_rows, n}));
          std::mt19937 replay(static_cast<unsigned>(cases));
          std::vector<double> bv(static_cast<size_t>(n), 0.0);
          if (bias) {
            for (auto& v : bv) v = std::uniform_real_distribution<float>(-1, 1)(replay);
          }
          for (int64_t r = 0; r < m_rows; ++r) {
            for (int64_t c = 0; c < n; ++c) {
              double want = bv[static_cast<size_t>(c)], mag = 0;
              for (int64_t i = 0; i < k; ++i) {
                const double t = a[static_cast<size_t>(r * k + i)] * q.w[static_cast<size_t>(c * k + i)];
                want += t;
                mag += std::fabs(t);
              }
              ASSERT_NEAR((*out)[0].data<float>()[r * n + c], want, 1e-5 * mag + 1e-5) << "row " << r << " col " << c;
            }
          }
          ++cases;
        }
      }
    }
  }
  EXPECT_EQ(cases, 2 * 5 * 3 * 3);
}

TEST(MatMulNBitsTest, GIdxReordersBlocks) {
  std::mt19937 rng(11);
  const int64_t k = 64, n = 5, block = 16;
  QuantizedWeight q = MakeWeight(k, n, 4, block, ZeroPoints::kNone, rng);
  std::vector<int32_t> g_idx(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) g_idx[static_cast<size_t>(i)] = static_cast<int32_t>((i * 7) % 4);
  std::vector<float> a(static_cast<size_t>(k));
  for (auto& v : a) v = std::uniform_real_distribution<float>(-1, 1)(rng);
  auto out = OneNodeModel("MatMulNBits", 1, "com.microsoft")
                 .Input("a", F32({1, k}, a)).Input("b", U8({n, 4, 8}, q.b), true)
                 .Input("scales", F32({n * 4}, q.scales), true).SkipInput()
                 .Input("g_idx", Tensor::FromVector(DType::kInt32, {k}, g_idx), true)
                 .Output("y", 2).Int("K", k).Int("N", n).Int("bits", 4).Int("block_size", block).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  for (int64_t c = 0; c < n; ++c) {
    double want = 0;
    for (int64_t i = 0; i < k; ++i) {
      const uint8_t byte = q.b[static_cast<size_t>(c * 32 + i / 2)];
      const int v = i % 2 == 0 ? byte & 0x0F : byte >> 4;
      want += a[static_cast<size_t>(i)] * (v - 8) * q.scales[static_cast<size_t>(c * 4 + g_idx[static_cast<size_t>(i)])];
    }
    EXPECT_NEAR((*out)[0].data<float>()[c], want, 1e-4) << "col " << c;
  }
}

TEST(MatMulNBitsTest, Avx512GemvMatchesPortableGemv) {
  if (!NBitsGemvUsesAvx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  std::mt19937 rng(12);
  for (int64_t bits : {4, 8}) {
    for (int64_t block : {16, 32, 64, 128, 256}) {
      const int64_t k = block * 3, n = 9;
      QuantizedWeight q = MakeWeight(k, n, bits, block, ZeroPoints::kPacked, rng);
      NBitsAttributes attrs{k, n, bits, block, 0};
      NBitsWeights w;
      Tensor zp = U8({static_cast<int64_t>(q.zp_packed.size())}, q.zp_packed);
      ASSERT_TRUE(BuildNBitsWeights(attrs, U8({n, q.k_blocks, q.blob}, q.b), F32({n * q.k_blocks}, q.scales), &zp,
                                    nullptr, w).ok());
      for (int rows = 1; rows <= kNBitsGemvMaxRows; ++rows) {
        std::vector<float> a(static_cast<size_t>(rows * k)), sums(static_cast<size_t>(rows * q.k_blocks), 0.0f);
        for (size_t i = 0; i < a.size(); ++i) {
          a[i] = std::uniform_real_distribution<float>(-1, 1)(rng);
          sums[i / static_cast<size_t>(block)] += a[i];
        }
        std::vector<float> fast(static_cast<size_t>(rows * n)), plain(fast.size());
        NBitsGemv(w, a.data(), sums.data(), rows, 0, n, fast.data(), n);
        NBitsGemvScalar(w, a.data(), sums.data(), rows, 0, n, plain.data(), n);
        for (size_t i = 0; i < fast.size(); ++i) ASSERT_NEAR(fast[i], plain[i], 1e-3) << bits << "/" << block;
      }
    }
  }
}

// Packs a weight built by MakeWeight (zero points as `zp_form`) into panels.
NBitsPanels PackWeight(const QuantizedWeight& q, ZeroPoints zp_form) {
  NBitsWeights w;
  Tensor zp = zp_form == ZeroPoints::kFloat ? F32({q.n * q.k_blocks}, q.zp_float)
                                            : U8({static_cast<int64_t>(q.zp_packed.size())}, q.zp_packed);
  EXPECT_TRUE(BuildNBitsWeights(NBitsAttributes{q.k, q.n, q.bits, q.block, 4}, U8({q.n, q.k_blocks, q.blob}, q.b),
                                F32({q.n * q.k_blocks}, q.scales), zp_form == ZeroPoints::kNone ? nullptr : &zp,
                                nullptr, w)
                  .ok());
  EXPECT_TRUE(NBitsPanelsSupport(w));
  NBitsPanels panels;
  EXPECT_TRUE(PackNBitsPanels(w, panels).ok());
  return panels;
}

// The zero-point form packing must choose: packed zero points that happen to be all equal (one column of
// one block, say) are a constant like the default ones.
NBitsPanelZero ExpectedPanelZero(const QuantizedWeight& q, ZeroPoints zp_form) {
  if (zp_form == ZeroPoints::kFloat) return NBitsPanelZero::kFloat;
  if (zp_form == ZeroPoints::kNone) return NBitsPanelZero::kConstant;
  const int64_t row_bytes = (q.k_blocks * q.bits + 7) / 8;
  std::set<int> values;
  for (int64_t r = 0; r < q.n; ++r) {
    for (int64_t g = 0; g < q.k_blocks; ++g) {
      const uint8_t byte = q.zp_packed[static_cast<size_t>(r * row_bytes + (q.bits == 8 ? g : g / 2))];
      values.insert(q.bits == 8 ? byte : (g % 2 == 0 ? byte & 0x0F : byte >> 4));
    }
  }
  return values.size() == 1 ? NBitsPanelZero::kConstant : NBitsPanelZero::kBytes;
}

// The int8 product differs from the exact one only by the rounding of A: each activation is off by at most
// half a step, amax(block) / 254, and the product weighs that error by |W[n, k]| = |q - zero_point| * scale,
// so |y - y_exact| <= sum_k |W[n, k]| * amax(block of k) / 254. Over bits, block sizes 16-256, the three
// zero-point forms, ragged K, N below, at and above a panel of 16, 1-9 rows, and a product split over panels
// as threads split it.
TEST(MatMulNBitsTest, Int8GemvIsWithinTheActivationRoundingOfTheExactProduct) {
  if (!NBitsGemvInt8Available()) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (int64_t bits : {4, 8}) {
    for (int64_t block : {16, 32, 64, 128, 256}) {
      for (ZeroPoints zp_form : {ZeroPoints::kNone, ZeroPoints::kPacked, ZeroPoints::kFloat}) {
        for (int64_t k : {block * 3, block * 5 - 9, 1 + static_cast<int64_t>(rng() % (4 * block))}) {
          const int64_t n = 1 + static_cast<int64_t>(rng() % 40), k_blocks = (k + block - 1) / block;
          const int64_t width = k_blocks * block;
          SCOPED_TRACE("bits " + std::to_string(bits) + " block " + std::to_string(block) + " K " + std::to_string(k) +
                       " N " + std::to_string(n) + " zp " + std::to_string(static_cast<int>(zp_form)));
          QuantizedWeight q = MakeWeight(k, n, bits, block, zp_form, rng);
          const NBitsPanels w = PackWeight(q, zp_form);
          ASSERT_EQ(w.zero, ExpectedPanelZero(q, zp_form));
          for (int rows : {1, 2, 3, 4, 6, 9}) {  // groups of 4 rows and the 1-3 left over
            std::vector<float> a(static_cast<size_t>(rows * width), 0.0f);
            for (int r = 0; r < rows; ++r) {
              for (int64_t i = 0; i < k; ++i) {
                a[static_cast<size_t>(r * width + i)] = std::uniform_real_distribution<float>(-3, 3)(rng);
              }
            }
            NBitsQuantizedRows qa;
            QuantizeNBitsRows(w, a.data(), rows, qa);
            std::vector<float> y(static_cast<size_t>(rows * n), -1e30f);
            const int64_t split = w.panels / 2;  // two "threads": panels [0, split) and [split, panels)
            NBitsGemvInt8(w, qa, 0, split, y.data(), n);
            NBitsGemvInt8(w, qa, split, w.panels, y.data(), n);
            for (int r = 0; r < rows; ++r) {
              for (int64_t c = 0; c < n; ++c) {
                double exact = 0, bound = 1e-4;
                for (int64_t g = 0; g < k_blocks; ++g) {
                  double amax = 0, weight_mass = 0, block_exact = 0;
                  for (int64_t i = g * block; i < std::min(k, (g + 1) * block); ++i) {
                    const double av = a[static_cast<size_t>(r * width + i)], wv = q.w[static_cast<size_t>(c * k + i)];
                    amax = std::max(amax, std::fabs(av));
                    weight_mass += std::fabs(wv);
                    block_exact += av * wv;
                  }
                  exact += block_exact;
                  // float32 accumulation of the block's scaled dot on top of the rounding of A
                  bound += weight_mass * amax / 254.0 * 1.001 + 1e-6 * (std::fabs(block_exact) + weight_mass * amax);
                }
                ASSERT_NEAR(y[static_cast<size_t>(r * n + c)], exact, bound) << "row " << r << " col " << c;
              }
            }
          }
        }
      }
    }
  }
}

// The kernel keeps one NBitsQuantizedRows between runs (a prefill of many rows, then decode steps of one):
// quantizing into a used one, with more or fewer rows or another weight's shape, must give the product a
// fresh one gives, bit for bit.
TEST(MatMulNBitsTest, QuantizedRowsReusedAcrossShapesGiveTheFreshProduct) {
  if (!NBitsGemvInt8Available()) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  std::mt19937 rng(23);
  NBitsQuantizedRows reused;
  for (auto [bits, block, k, rows] : {std::tuple<int64_t, int64_t, int64_t, int>{4, 32, 200, 9},
                                      {4, 32, 200, 1}, {8, 16, 70, 5}, {4, 64, 300, 2}, {4, 32, 40, 3}}) {
    SCOPED_TRACE("bits " + std::to_string(bits) + " block " + std::to_string(block) + " K " + std::to_string(k) +
                 " rows " + std::to_string(rows));
    QuantizedWeight q = MakeWeight(k, 19, bits, block, ZeroPoints::kPacked, rng, /*reference=*/false);
    const NBitsPanels w = PackWeight(q, ZeroPoints::kPacked);
    const int64_t width = q.k_blocks * block;
    std::vector<float> a(static_cast<size_t>(rows * width), 0.0f);
    for (int r = 0; r < rows; ++r) {
      for (int64_t i = 0; i < k; ++i) {
        a[static_cast<size_t>(r * width + i)] = std::uniform_real_distribution<float>(-2, 2)(rng);
      }
    }
    // Leave garbage where the new call must write.
    std::fill(reused.even.begin(), reused.even.end(), int8_t{99});
    std::fill(reused.odd.begin(), reused.odd.end(), int8_t{99});
    NBitsQuantizedRows fresh;
    QuantizeNBitsRows(w, a.data(), rows, fresh);
    QuantizeNBitsRows(w, a.data(), rows, reused);
    std::vector<float> y_fresh(static_cast<size_t>(rows * 19)), y_reused(y_fresh.size());
    NBitsGemvInt8(w, fresh, 0, w.panels, y_fresh.data(), 19);
    NBitsGemvInt8(w, reused, 0, w.panels, y_reused.data(), 19);
    EXPECT_EQ(y_fresh, y_reused);
  }
}

// Packing is a pure re-layout: the record of (panel, block) holds each column's scale and blob bytes where
// the header says, and the lanes past N are zero weights with zero scales.
TEST(MatMulNBitsTest, PanelsHoldEachColumnsBlockWhereTheLayoutSays) {
  if (!NBitsGemvInt8Available()) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  std::mt19937 rng(29);
  QuantizedWeight q = MakeWeight(96, 21, 4, 32, ZeroPoints::kPacked, rng, /*reference=*/false);
  const NBitsPanels w = PackWeight(q, ZeroPoints::kPacked);
  ASSERT_EQ(w.panels, 2);
  ASSERT_EQ(w.record_bytes, 64 + 16 * 16);
  for (int64_t n = 0; n < 32; ++n) {
    for (int64_t g = 0; g < q.k_blocks; ++g) {
      const uint8_t* record = w.panel(n / 16) + g * w.record_bytes;
      float scale;
      std::memcpy(&scale, record + 4 * (n % 16), sizeof(scale));
      EXPECT_EQ(scale, n < q.n ? q.scales[static_cast<size_t>(n * q.k_blocks + g)] : 0.0f);
      for (int64_t b = 0; b < q.blob; ++b) {
        const uint8_t want = n < q.n ? q.b[static_cast<size_t>((n * q.k_blocks + g) * q.blob + b)] : 0;
        ASSERT_EQ(record[64 * (1 + b / 4) + 4 * (n % 16) + b % 4], want) << "n " << n << " g " << g << " b " << b;
      }
    }
  }
}

// accuracy_level 4 through the whole kernel: decode and prefill rows take the int8 product, and its
// answer stays within int8 rounding of the float32 one.
TEST(MatMulNBitsTest, AccuracyLevelFourDecodesInInt8) {
  std::mt19937 rng(17);
  const int64_t k = 256, n = 24;
  QuantizedWeight q = MakeWeight(k, n, 4, 32, ZeroPoints::kNone, rng);
  for (int64_t m_rows : {1, 6}) {
    std::vector<float> a(static_cast<size_t>(m_rows * k));
    for (auto& v : a) v = std::uniform_real_distribution<float>(-1, 1)(rng);
    std::mt19937 unused(1);
    auto exact = NBitsModel(q, F32({m_rows, k}, a), ZeroPoints::kNone, true, false, unused).Run();
    auto level4 =
        NBitsModel(q, F32({m_rows, k}, a), ZeroPoints::kNone, true, false, unused).Int("accuracy_level", 4).Run();
    ASSERT_TRUE(exact.ok() && level4.ok());
    double max_diff = 0, max_value = 0;
    for (int64_t i = 0; i < m_rows * n; ++i) {
      max_diff = std::max(max_diff, std::fabs(double((*exact)[0].data<float>()[i]) - (*level4)[0].data<float>()[i]));
      max_value = std::max(max_value, std::fabs(double((*exact)[0].data<float>()[i])));
    }
    EXPECT_LT(max_diff, 0.02 * max_value) << "M " << m_rows;
    if (!NBitsGemvInt8Available()) {
      EXPECT_LT(max_diff, 1e-5 * max_value) << "M " << m_rows;
    } else {
      EXPECT_GT(max_diff, 0.0) << "M " << m_rows << " did not take the int8 product";
    }
  }
}

// The int8 product hands runs of panels to whichever thread is free: the columns each thread computes
// vary from run to run, the answer must not (each panel is computed the same way by any thread).
TEST(MatMulNBitsTest, Int8ProductOverTwoThreadsEqualsOneThread) {
  std::mt19937 rng(31);
  const int64_t k = 512, n = 1000;  // 63 panels of 80 KiB of work at M=1: split into runs over 2 threads
  QuantizedWeight q = MakeWeight(k, n, 4, 32, ZeroPoints::kPacked, rng, /*reference=*/false);
  for (int64_t m_rows : {1, 5}) {
    std::vector<float> a(static_cast<size_t>(m_rows * k));
    for (auto& v : a) v = std::uniform_real_distribution<float>(-1, 1)(rng);
    std::mt19937 unused(1);
    auto one = NBitsModel(q, F32({m_rows, k}, a), ZeroPoints::kPacked, true, false, unused)
                   .Int("accuracy_level", 4).Run(1);
    ASSERT_TRUE(one.ok()) << one.status().message();
    OneNodeModel two = NBitsModel(q, F32({m_rows, k}, a), ZeroPoints::kPacked, true, false, unused);
    two.Int("accuracy_level", 4);
    ASSERT_TRUE(two.Load(2).ok());
    for (int run = 0; run < 5; ++run) {
      auto out = two.RunLoaded();
      ASSERT_TRUE(out.ok()) << out.status().message();
      for (int64_t i = 0; i < m_rows * n; ++i) {
        ASSERT_EQ((*out)[0].data<float>()[i], (*one)[0].data<float>()[i]) << "M " << m_rows << " element " << i;
      }
    }
  }
}

TEST(MatMulNBitsTest, BadAttributesAndShapesAreRejected) {
  std::mt19937 rng(13);
  QuantizedWeight q = MakeWeight(32, 4, 4, 32, ZeroPoints::kNone, rng);
  const Tensor a = F32({1, 32}, std::vector<float>(32, 1.0f));
  auto run = [&](int64_t k, int64_t bits, int64_t block, const Shape& b_shape, const Tensor& input) {
    std::vector<uint8_t> b(static_cast<size_t>(ShapeElementCount(b_shape)), 0x88);
    return OneNodeModel("MatMulNBits", 1, "com.microsoft").Input("a", input).Input("b", U8(b_shape, b), true)
        .Input("scales", F32({4}, q.scales), true).Output("y", 2).Int("K", k).Int("N", 4).Int("bits", bits)
        .Int("block_size", block).Run();
  };
  auto expect_error = [](const StatusOr<std::vector<Tensor>>& out, const std::string& fragment) {
    ASSERT_FALSE(out.ok());
    EXPECT_NE(out.status().message().find(fragment), std::string::npos) << out.status().message();
  };
  expect_error(run(32, 3, 32, {4, 1, 12}, a), "attribute 'bits' is 3");
  expect_error(run(32, 2, 32, {4, 1, 8}, a), "attribute 'bits' is 2");
  expect_error(run(32, 4, 24, {4, 2, 12}, a), "block_size");
  expect_error(run(32, 4, 8, {4, 4, 4}, a), "block_size");
  expect_error(run(32, 4, 32, {4, 1, 8}, a), "input 'B' must have shape [N, k_blocks, blob_size] = [4, 1, 16]");
  expect_error(run(32, 4, 32, {4, 1, 16}, F32({1, 16}, std::vector<float>(16, 1.0f))), "last dim K=32");
  expect_error(run(0, 4, 32, {4, 1, 16}, a), "'K' and 'N' must be positive");
}

TEST(GatherBlockQuantizedTest, FourAndEightBitRowsMatchReference) {
  std::mt19937 rng(14);
  for (int64_t bits : {4, 8}) {
    for (bool with_zp : {false, true}) {
      const int64_t rows = 7, cols = 64, block = 16, blocks = cols / block;
      const int64_t stored = bits == 4 ? cols / 2 : cols;
      std::vector<uint8_t> data(static_cast<size_t>(rows * stored));
      for (auto& v : data) v = static_cast<uint8_t>(rng() & 0xFF);
      std::vector<float> scales(static_cast<size_t>(rows * blocks));
      for (auto& s : scales) s = std::uniform_real_distribution<float>(0.01f, 0.1f)(rng);
      const int64_t zp_cols = bits == 4 ? (blocks + 1) / 2 : blocks;
      std::vector<uint8_t> zp(static_cast<size_t>(rows * zp_cols));
      for (auto& v : zp) v = static_cast<uint8_t>(rng() & 0xFF);
      const std::vector<int64_t> idx = {3, 0, 6, -1};
      OneNodeModel m("GatherBlockQuantized", 1, "com.microsoft");
      m.Input("data", U8({rows, stored}, data), true).Input("idx", Tensor::FromVector(DType::kInt64, {2, 2}, idx));
      m.Input("scales", F32({rows, blocks}, scales), true);
      if (with_zp) m.Input("zp", U8({rows, zp_cols}, zp), true);
      auto out = m.Output("y", 3).Int("bits", bits).Int("block_size", block).Run();
      ASSERT_TRUE(out.ok()) << out.status().message();
      ASSERT_EQ((*out)[0].shape(), (Shape{2, 2, cols}));
      for (size_t i = 0; i < idx.size(); ++i) {
        const int64_t r = idx[i] < 0 ? idx[i] + rows : idx[i];
        for (int64_t c = 0; c < cols; ++c) {
          const uint8_t byte = data[static_cast<size_t>(r * stored + (bits == 4 ? c / 2 : c))];
          const int q = bits == 8 ? byte : (c % 2 == 0 ? byte & 0x0F : byte >> 4);
          const int64_t g = c / block;
          const uint8_t zbyte = zp[static_cast<size_t>(r * zp_cols + (bits == 4 ? g / 2 : g))];
          const int z = !with_zp ? (bits == 4 ? 8 : 128) : bits == 8 ? zbyte : (g % 2 == 0 ? zbyte & 0x0F : zbyte >> 4);
          const double want = (q - z) * static_cast<double>(scales[static_cast<size_t>(r * blocks + g)]);
          ASSERT_NEAR((*out)[0].data<float>()[static_cast<int64_t>(i) * cols + c], want, 1e-6);
        }
      }
    }
  }
}

TEST(GatherBlockQuantizedTest, BadBitsAndScalesShapeAreRejected) {
  const Tensor data = U8({4, 16}, std::vector<uint8_t>(64, 0x11));
  const Tensor idx = Tensor::FromVector(DType::kInt64, {1}, std::vector<int64_t>{1});
  auto bad_bits = OneNodeModel("GatherBlockQuantized", 1, "com.microsoft").Input("data", data).Input("idx", idx)
                      .Input("scales", F32({4, 2}, std::vector<float>(8, 1))).Output("y", 2).Int("bits", 2)
                      .Int("block_size", 16).Run();
  ASSERT_FALSE(bad_bits.ok());
  EXPECT_NE(bad_bits.status().message().find("'bits' is 2"), std::string::npos) << bad_bits.status().message();
  auto bad_scales = OneNodeModel("GatherBlockQuantized", 1, "com.microsoft").Input("data", data).Input("idx", idx)
                        .Input("scales", F32({4, 3}, std::vector<float>(12, 1))).Output("y", 2).Int("block_size", 16)
                        .Run();
  ASSERT_FALSE(bad_scales.ok());
  EXPECT_NE(bad_scales.status().message().find("input 'scales' must have shape [4,2]"), std::string::npos)
      << bad_scales.status().message();
  auto bad_index = OneNodeModel("GatherBlockQuantized", 1, "com.microsoft").Input("data", data)
                       .Input("idx", Tensor::FromVector(DType::kInt64, {1}, std::vector<int64_t>{4}))
                       .Input("scales", F32({4, 2}, std::vector<float>(8, 1))).Output("y", 2).Int("block_size", 16)
                       .Run();
  ASSERT_FALSE(bad_index.ok());
  EXPECT_NE(bad_index.status().message().find("outside"), std::string::npos) << bad_index.status().message();
}

// Weight throughput of the decode GEMV (M=1) next to a streaming read of as many bytes, on 1 and 2
// threads. Runs only with TESSERA_BENCH_NBITS=1 (timings are not a unit test). Both rotate through copies
// totalling 128 MiB, so that neither is served from the last-level cache.
TEST(MatMulNBitsTest, DecodeThroughputReport) {
  if (std::getenv("TESSERA_BENCH_NBITS") == nullptr) GTEST_SKIP() << "set TESSERA_BENCH_NBITS=1 to measure";
  std::mt19937 rng(15);
  using Clock = std::chrono::steady_clock;
  constexpr double kRotationBytes = 128.0 * (1 << 20);
  for (auto [n, k] : {std::pair<int64_t, int64_t>{4096, 4096}, {1536, 4096}}) {
    const double bytes = static_cast<double>(n * k / 2);
    const int copies = static_cast<int>(std::ceil(kRotationBytes / bytes));
    std::vector<std::vector<uint64_t>> bufs(static_cast<size_t>(copies),
                                            std::vector<uint64_t>(static_cast<size_t>(bytes / 8), 1));
    for (int threads : {1, 2}) {
      for (int level : {0, 4}) {
        std::vector<float> a(static_cast<size_t>(k), 0.5f);
        std::vector<OneNodeModel> models;
        double extra_bytes = 0;
        for (int c = 0; c < copies; ++c) {
          QuantizedWeight q = MakeWeight(k, n, 4, 32, ZeroPoints::kPacked, rng, /*reference=*/false);
          extra_bytes = q.scales.size() * 4.0 + q.zp_packed.size();
          models.push_back(NBitsModel(q, F32({1, k}, a), ZeroPoints::kPacked, true, false, rng));
          models.back().Int("accuracy_level", level);
          ASSERT_TRUE(models.back().Load(threads).ok());
          ASSERT_TRUE(models.back().RunLoaded().ok());
        }
        const int reps = 20 * copies;
        auto t0 = Clock::now();
        for (int i = 0; i < reps; ++i) ASSERT_TRUE(models[static_cast<size_t>(i % copies)].RunLoaded().ok());
        const double gemv_s = std::chrono::duration<double>(Clock::now() - t0).count() / reps;
        uint64_t total = 0;
        t0 = Clock::now();
        for (int i = 0; i < reps; ++i) {
          const auto& buf = bufs[static_cast<size_t>(i % copies)];
#pragma omp parallel for reduction(+ : total) num_threads(threads)
          for (size_t j = 0; j < buf.size(); ++j) total += buf[j];
        }
        const double stream_s = std::chrono::duration<double>(Clock::now() - t0).count() / reps;
        std::printf("MatMulNBits 4-bit block 32 accuracy_level %d, N=%lld K=%lld, M=1, %d thread(s): %.1f us, "
                    "%.1f GB/s of packed weight (%.1f GB/s with scales and zero points); streaming sum of %.1f MB: "
                    "%.1f GB/s [%llu]\n",
                    level, static_cast<long long>(n), static_cast<long long>(k), threads, gemv_s * 1e6,
                    bytes / gemv_s / 1e9, (bytes + extra_bytes) / gemv_s / 1e9, bytes / 1e6, bytes / stream_s / 1e9,
                    static_cast<unsigned long long>(total % 10));
      }
    }
  }
}

}  // namespace
}  // namespace tessera
