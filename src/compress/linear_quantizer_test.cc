// 8-bit scale choice and weight quantization: ranges hold zero, per-channel scales follow their channel,
// asymmetric zero points, and round trips within half a step.
#include "compress/linear_quantizer.h"

#include <gtest/gtest.h>

#include <cmath>

namespace tessera::compress {
namespace {

TEST(LinearQuantizerTest, RangeAlwaysHoldsZeroExactly) {
  const QuantParams p = ChooseQuantParams(2.0f, 6.0f, false, false);  // widened to [0, 6]
  EXPECT_FLOAT_EQ(p.scale, 6.0f / 255.0f);
  EXPECT_EQ(p.zero_point, 0);
  const QuantParams n = ChooseQuantParams(-1.0f, 3.0f, false, false);
  EXPECT_EQ(n.zero_point, 64);  // 0 maps onto a code exactly
}

TEST(LinearQuantizerTest, SymmetricSignedHasZeroZeroPoint) {
  const QuantParams p = ChooseQuantParams(-2.0f, 1.0f, true, true);
  EXPECT_FLOAT_EQ(p.scale, 2.0f / 127.0f);
  EXPECT_EQ(p.zero_point, 0);
}

TEST(LinearQuantizerTest, EmptyRangeGetsScaleOne) {
  const QuantParams p = ChooseQuantParams(0.0f, 0.0f, true, false);
  EXPECT_FLOAT_EQ(p.scale, 1.0f);
}

TEST(LinearQuantizerTest, PerChannelScalesFollowTheirColumn) {
  // [K=2, N=3], axis 1: column c has amax c + 1.
  const std::vector<float> w = {1.0f, -2.0f, 3.0f, -0.5f, 1.0f, -1.5f};
  const Int8Weight q = QuantizeWeightInt8(w.data(), {2, 3}, 1, true);
  ASSERT_EQ(q.scales.size(), 3u);
  for (int c = 0; c < 3; ++c) EXPECT_FLOAT_EQ(q.scales[static_cast<size_t>(c)], (c + 1.0f) / 127.0f);
  const std::vector<float> back = DequantizeWeightInt8(q, {2, 3});
  for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(back[i], w[i], 0.5f * q.scales[i % 3] + 1e-6f) << i;
}

TEST(LinearQuantizerTest, AsymmetricInt8UsesItsZeroPoint) {
  const std::vector<float> w = {0.0f, 1.0f, 2.0f, 4.0f};  // all >= 0: zero at the bottom of [-128, 127]
  const Int8Weight q = QuantizeWeightInt8(w.data(), {4}, -1, false);
  EXPECT_EQ(q.zero_points[0], -128);
  EXPECT_EQ(q.values[0], -128);
  EXPECT_EQ(q.values[3], 127);
  const std::vector<float> back = DequantizeWeightInt8(q, {4});
  for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(back[i], w[i], 0.5f * q.scales[0] + 1e-6f);
}

TEST(LinearQuantizerTest, ConvWeightPerOutputChannel) {
  // [O=2, I=1, 2, 2] with axis 0: each output channel has its own scale.
  const std::vector<float> w = {0.1f, -0.2f, 0.3f, -0.4f, 4.0f, 3.0f, -2.0f, 1.0f};
  const Int8Weight q = QuantizeWeightInt8(w.data(), {2, 1, 2, 2}, 0, true);
  ASSERT_EQ(q.scales.size(), 2u);
  EXPECT_FLOAT_EQ(q.scales[0], 0.4f / 127.0f);
  EXPECT_FLOAT_EQ(q.scales[1], 4.0f / 127.0f);
}

}  // namespace
}  // namespace tessera::compress
