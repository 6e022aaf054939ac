// float8e8m0 (opset 24): every code's value, and conversion under each of Cast-24's round modes as ONNX's
// reference (numpy_helper.to_float8e8m0) defines them, with its edge cases: the sign dropped, zero and
// float32 subnormals, ties, saturation at 2^127, NaN and infinities.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <limits>

#include "core/low_precision.h"

namespace tessera {
namespace {

constexpr E8M0Rounding kModes[] = {E8M0Rounding::kUp, E8M0Rounding::kDown, E8M0Rounding::kNearest};

uint8_t Encode(double v, E8M0Rounding mode, bool saturate = true) { return DoubleToFloat8E8M0(v, saturate, mode); }

TEST(Float8E8M0Test, EveryCodeIsAPowerOfTwoAndNanIsFF) {
  for (int c = 0; c < 255; ++c) {
    SCOPED_TRACE("code " + std::to_string(c));
    const double v = LowPrecisionToDouble(DType::kFloat8E8M0, static_cast<uint8_t>(c));
    EXPECT_EQ(v, std::ldexp(1.0, c - 127));
    // Exact powers of two come back unchanged in every mode, except 2^-127: as a float32 it is the
    // subnormal of mantissa 0x400000, which "up" takes to 2^-126.
    for (E8M0Rounding mode : kModes) {
      const int expected = (c == 0 && mode == E8M0Rounding::kUp) ? 1 : c;
      EXPECT_EQ(Encode(v, mode), expected);
    }
  }
  EXPECT_TRUE(std::isnan(LowPrecisionToDouble(DType::kFloat8E8M0, 0xFF)));
  EXPECT_EQ(MiniFloatMax(DType::kFloat8E8M0), std::ldexp(1.0, 127));
  EXPECT_EQ(DTypeSize(DType::kFloat8E8M0), 1u);
  EXPECT_STREQ(DTypeName(DType::kFloat8E8M0), "float8e8m0");
  EXPECT_TRUE(IsKnownDType(24));
}

TEST(Float8E8M0Test, RoundModesBetweenTwoPowers) {
  // 3 = 1.5 * 2^1 is the tie between 2 (code 128) and 4 (code 129): "nearest" ties up.
  EXPECT_EQ(Encode(3.0, E8M0Rounding::kUp), 129);
  EXPECT_EQ(Encode(3.0, E8M0Rounding::kDown), 128);
  EXPECT_EQ(Encode(3.0, E8M0Rounding::kNearest), 129);
  EXPECT_EQ(Encode(2.9, E8M0Rounding::kNearest), 128);
  EXPECT_EQ(Encode(2.000001, E8M0Rounding::kUp), 129);
  EXPECT_EQ(Encode(2.0000001, E8M0Rounding::kUp), 128);  // float32 first, as the reference: that is 2.0
  EXPECT_EQ(Encode(3.9, E8M0Rounding::kDown), 128);
  // The default of DoubleToLowPrecision is "up".
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat8E8M0, 0.3), 126);  // 0.3 -> 0.5
}

TEST(Float8E8M0Test, SignIsDroppedAndZeroIsTheSmallestCode) {
  for (E8M0Rounding mode : kModes) {
    EXPECT_EQ(Encode(-4.0, mode), 129);
    EXPECT_EQ(Encode(0.0, mode), 0);
    EXPECT_EQ(Encode(-0.0, mode), 0);
  }
  // A float32 subnormal below 2^-127: exponent field 0, so "down" and "nearest" give 2^-127, "up" 2^-126.
  const double tiny = std::ldexp(1.0, -140);
  EXPECT_EQ(Encode(tiny, E8M0Rounding::kDown), 0);
  EXPECT_EQ(Encode(tiny, E8M0Rounding::kNearest), 0);
  EXPECT_EQ(Encode(tiny, E8M0Rounding::kUp), 1);
}

TEST(Float8E8M0Test, SaturationOnlyStopsARoundUpPast2To127) {
  const double above_max = 1.5 * std::ldexp(1.0, 127);
  EXPECT_EQ(Encode(above_max, E8M0Rounding::kUp, true), 0xFE);
  EXPECT_EQ(Encode(above_max, E8M0Rounding::kUp, false), 0xFF);
  EXPECT_EQ(Encode(above_max, E8M0Rounding::kNearest, false), 0xFF);
  EXPECT_EQ(Encode(above_max, E8M0Rounding::kDown, false), 0xFE);
  EXPECT_EQ(Encode(FLT_MAX, E8M0Rounding::kUp, true), 0xFE);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (bool saturate : {true, false}) {
    EXPECT_EQ(Encode(nan, E8M0Rounding::kUp, saturate), 0xFF);
    EXPECT_EQ(Encode(INFINITY, E8M0Rounding::kUp, saturate), 0xFF);
    EXPECT_EQ(Encode(-INFINITY, E8M0Rounding::kDown, saturate), 0xFF);
    EXPECT_EQ(Encode(1e300, E8M0Rounding::kDown, saturate), 0xFF);  // beyond float32: Inf first
  }
}

TEST(Float8E8M0Test, RoundModeNames) {
  E8M0Rounding mode = E8M0Rounding::kUp;
  EXPECT_TRUE(ParseE8M0Rounding("nearest", mode));
  EXPECT_EQ(mode, E8M0Rounding::kNearest);
  EXPECT_TRUE(ParseE8M0Rounding("down", mode));
  EXPECT_EQ(mode, E8M0Rounding::kDown);
  EXPECT_FALSE(ParseE8M0Rounding("UP", mode));
  EXPECT_FALSE(ParseE8M0Rounding("", mode));
}

}  // namespace
}  // namespace tessera
