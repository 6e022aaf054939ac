// QuantizeLinear and DequantizeLinear with float8, int4, uint4 and float4e2m1, per tensor, per axis and
// per block (opset 21's block_size), checked against references computed here element by element.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/low_precision.h"
#include "testing/one_node_model.h"
#include "testing/tensor_values.h"

namespace tessera {
namespace {

using testing::OneNodeModel;
using testing::Values;

Tensor F32(Shape shape, std::vector<float> v) { return Tensor::FromVector(DType::kFloat32, std::move(shape), v); }
Tensor Codes(DType t, Shape shape, std::vector<uint8_t> v) { return Tensor::FromVector(t, std::move(shape), v); }

TEST(QuantizeBlockedTest, Float8PerTensorSaturatesUnlessToldNot) {
  for (int saturate : {1, 0}) {
    OneNodeModel m("QuantizeLinear", 21);
    m.Input("x", F32({4}, {1.0f, -3.0f, 1000.0f, 0.15f})).Input("scale", F32({}, {0.5f}), true);
    m.Input("zp", Codes(DType::kFloat8E4M3FN, {}, {0}), true).Output("y", 1, DType::kFloat8E4M3FN);
    m.Int("saturate", saturate);
    auto out = m.Run();
    ASSERT_TRUE(out.ok()) << out.status().message();
    // x / 0.5 = 2, -6, 2000 (beyond 448), 0.3.
    const uint8_t big = saturate ? 0x7E : 0x7F;  // 448, or NaN
    EXPECT_EQ(Values<uint8_t>((*out)[0]), (std::vector<uint8_t>{0x40, 0xCC, big, 0x2A}));
  }
}

TEST(QuantizeBlockedTest, Float8ZeroPointMustBeZero) {
  OneNodeModel m("QuantizeLinear", 21);
  m.Input("x", F32({1}, {1.0f})).Input("scale", F32({}, {1.0f}), true);
  m.Input("zp", Codes(DType::kFloat8E5M2, {}, {0x3C}), true).Output("y", 1, DType::kFloat8E5M2);
  auto out = m.Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("must be zero"), std::string::npos) << out.status().message();
}

TEST(QuantizeBlockedTest, Int4PerAxisWithZeroPointSaturates) {
  OneNodeModel m("QuantizeLinear", 21);
  m.Input("x", F32({2, 3}, {1, 2, 3, -10, 0.5f, 100})).Input("scale", F32({3}, {1, 2, 0.5f}), true);
  m.Input("zp", Codes(DType::kInt4, {3}, {0x1, 0xF, 0x0}), true).Output("y", 2, DType::kInt4).Int("axis", 1);
  auto out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  // rint(x / scale) + zp, clamped to [-8, 7]: 1+1, 1-1, 6+0 | -10+1 -> -8, 0-1 (0.25 rounds to 0), 200 -> 7.
  EXPECT_EQ(Values<uint8_t>((*out)[0]), (std::vector<uint8_t>{0x2, 0x0, 0x6, 0x8, 0xF, 0x7}));
}

TEST(QuantizeBlockedTest, UInt4FromOutputDTypeAttribute) {
  OneNodeModel m("QuantizeLinear", 21);
  m.Input("x", F32({3}, {-1.0f, 7.5f, 30.0f})).Input("scale", F32({}, {1.0f}), true).Output("y", 1, DType::kUInt4);
  m.Int("output_dtype", static_cast<int64_t>(DType::kUInt4));
  auto out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Values<uint8_t>((*out)[0]), (std::vector<uint8_t>{0x0, 0x8, 0xF}));
}

// Blocks of 2 along axis 1 of a [2, 5] tensor: 3 blocks per row, the last one short.
TEST(QuantizeBlockedTest, BlockedRoundTripMatchesReference) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-4.0f, 4.0f);
  std::vector<float> xs(10), scales(6);
  for (float& v : xs) v = dist(rng);
  for (float& s : scales) s = 0.25f + std::fabs(dist(rng)) / 4;
  std::vector<uint8_t> zps = {0x1, 0x2, 0x3, 0xD, 0xE, 0x0};  // int4: 1, 2, 3, -3, -2, 0
  OneNodeModel q("QuantizeLinear", 21);
  q.Input("x", F32({2, 5}, xs)).Input("scale", F32({2, 3}, scales), true);
  q.Input("zp", Codes(DType::kInt4, {2, 3}, zps), true).Output("y", 2, DType::kInt4);
  q.Int("axis", 1).Int("block_size", 2);
  auto quantized = q.Run();
  ASSERT_TRUE(quantized.ok()) << quantized.status().message();
  const auto codes = Values<uint8_t>((*quantized)[0]);
  for (int i = 0; i < 10; ++i) {
    const int p = (i / 5) * 3 + (i % 5) / 2;
    const double zp = LowPrecisionToDouble(DType::kInt4, zps[p]);
    const double want = std::fmin(std::fmax(std::nearbyint(xs[i] / scales[p]) + zp, -8.0), 7.0);
    EXPECT_EQ(LowPrecisionToDouble(DType::kInt4, codes[i]), want) << "element " << i;
  }
  OneNodeModel d("DequantizeLinear", 21);
  d.Input("x", (*quantized)[0]).Input("scale", F32({2, 3}, scales), true);
  d.Input("zp", Codes(DType::kInt4, {2, 3}, zps), true).Output("y", 2).Int("axis", 1).Int("block_size", 2);
  auto deq = d.Run();
  ASSERT_TRUE(deq.ok()) << deq.status().message();
  const auto ys = Values<float>((*deq)[0]);
  for (int i = 0; i < 10; ++i) {
    const int p = (i / 5) * 3 + (i % 5) / 2;
    const float want = static_cast<float>(LowPrecisionToDouble(DType::kInt4, codes[i]) -
                                          LowPrecisionToDouble(DType::kInt4, zps[p])) * scales[p];
    EXPECT_EQ(ys[i], want) << "element " << i;
  }
}

TEST(QuantizeBlockedTest, BlockedScaleOfWrongShapeIsAnError) {
  OneNodeModel m("DequantizeLinear", 21);
  m.Input("x", Codes(DType::kUInt4, {2, 4}, {1, 2, 3, 4, 5, 6, 7, 8}));
  m.Input("scale", F32({2, 3}, {1, 1, 1, 1, 1, 1}), true);  // 4 per row in blocks of 2 needs [2, 2]
  m.Output("y", 2).Int("axis", 1).Int("block_size", 2);
  auto out = m.Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("does not fit"), std::string::npos) << out.status().message();
}

TEST(QuantizeBlockedTest, DequantizeFloat8AndFloat4) {
  OneNodeModel m("DequantizeLinear", 21);
  m.Input("x", Codes(DType::kFloat8E4M3FNUZ, {3}, {0x40, 0xD0, 0x80})).Input("scale", F32({}, {2.0f}), true);
  m.Output("y", 1);
  auto out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  const auto y = Values<float>((*out)[0]);
  EXPECT_EQ(y[0], 2.0f);
  EXPECT_EQ(y[1], -8.0f);
  EXPECT_TRUE(std::isnan(y[2]));
  OneNodeModel f4("DequantizeLinear", 23);
  f4.Input("x", Codes(DType::kFloat4E2M1, {3}, {0x7, 0x9, 0x3}), true).Input("scale", F32({}, {0.5f}), true);
  f4.Output("y", 1);
  auto out4 = f4.Run();
  ASSERT_TRUE(out4.ok()) << out4.status().message();
  EXPECT_EQ(Values<float>((*out4)[0]), (std::vector<float>{3.0f, -0.25f, 0.75f}));
}

}  // namespace
}  // namespace tessera
