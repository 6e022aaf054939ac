// Low-precision conversions: every code of each float8 type and float4e2m1 decoded and encoded back,
// the values the ONNX spec names, ties to even at every midpoint, saturation and its absence, NaN and
// zeros, and the packing of 4-bit values (odd counts included).
#include "core/low_precision.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace tessera {
namespace {

constexpr DType kFloat8Types[] = {DType::kFloat8E4M3FN, DType::kFloat8E4M3FNUZ, DType::kFloat8E5M2,
                                  DType::kFloat8E5M2FNUZ};

// The reference decoder, written from the spec's formulas independently of the one under test:
// (-1)^S * 2^(E - bias) * (1 + M / 2^m) for E > 0, (-1)^S * 2^(1 - bias) * M / 2^m for E = 0.
double ReferenceDecode(int exp_bits, int man_bits, int bias, uint8_t code) {
  const int sign = (code >> (exp_bits + man_bits)) & 1;
  const int e = (code >> man_bits) & ((1 << exp_bits) - 1);
  const int m = code & ((1 << man_bits) - 1);
  const double v = e == 0 ? std::pow(2.0, 1 - bias) * m / (1 << man_bits)
                          : std::pow(2.0, e - bias) * (1.0 + static_cast<double>(m) / (1 << man_bits));
  return sign ? -v : v;
}

bool IsNanCode(DType t, uint8_t c) {
  switch (t) {
    case DType::kFloat8E4M3FN: return (c & 0x7F) == 0x7F;
    case DType::kFloat8E5M2: return (c & 0x7C) == 0x7C && (c & 0x3) != 0;
    default: return c == 0x80;  // fnuz
  }
}

void FormatOf(DType t, int& exp_bits, int& man_bits, int& bias) {
  exp_bits = (t == DType::kFloat8E4M3FN || t == DType::kFloat8E4M3FNUZ) ? 4 : 5;
  man_bits = 7 - exp_bits;
  bias = t == DType::kFloat8E4M3FN ? 7 : t == DType::kFloat8E4M3FNUZ ? 8 : t == DType::kFloat8E5M2 ? 15 : 16;
}

TEST(LowPrecisionTest, EveryFloat8CodeDecodesAsTheSpecSaysAndEncodesBack) {
  for (DType t : kFloat8Types) {
    int exp_bits, man_bits, bias;
    FormatOf(t, exp_bits, man_bits, bias);
    for (int c = 0; c < 256; ++c) {
      const uint8_t code = static_cast<uint8_t>(c);
      const double v = LowPrecisionToDouble(t, code);
      SCOPED_TRACE(std::string(DTypeName(t)) + " code " + std::to_string(c));
      if (IsNanCode(t, code)) {
        EXPECT_TRUE(std::isnan(v));
        EXPECT_TRUE(std::isnan(LowPrecisionToDouble(t, DoubleToLowPrecision(t, v))));
        continue;
      }
      if (t == DType::kFloat8E5M2 && (c & 0x7F) == 0x7C) {
        EXPECT_EQ(v, (c & 0x80) ? -INFINITY : INFINITY);
        EXPECT_EQ(DoubleToLowPrecision(t, v, /*saturate=*/false), code);
        EXPECT_EQ(DoubleToLowPrecision(t, v, /*saturate=*/true), code - 1);  // to ±57344
        continue;
      }
      EXPECT_EQ(v, ReferenceDecode(exp_bits, man_bits, bias, code));
      EXPECT_EQ(DoubleToLowPrecision(t, v, true), code);
      EXPECT_EQ(DoubleToLowPrecision(t, v, false), code);
      EXPECT_EQ(DoubleToLowPrecision(t, static_cast<float>(v), true), code);
    }
  }
}

TEST(LowPrecisionTest, SpecValues) {
  EXPECT_EQ(MiniFloatMax(DType::kFloat8E4M3FN), 448.0);
  EXPECT_EQ(MiniFloatMax(DType::kFloat8E4M3FNUZ), 240.0);
  EXPECT_EQ(MiniFloatMax(DType::kFloat8E5M2), 57344.0);
  EXPECT_EQ(MiniFloatMax(DType::kFloat8E5M2FNUZ), 57344.0);
  EXPECT_EQ(MiniFloatMax(DType::kFloat4E2M1), 6.0);
  EXPECT_EQ(LowPrecisionToDouble(DType::kFloat8E4M3FN, 0x01), std::ldexp(1.0, -9));
  EXPECT_EQ(LowPrecisionToDouble(DType::kFloat8E4M3FNUZ, 0x01), std::ldexp(1.0, -10));
  EXPECT_EQ(LowPrecisionToDouble(DType::kFloat8E5M2, 0x01), std::ldexp(1.0, -16));
  EXPECT_EQ(LowPrecisionToDouble(DType::kFloat8E5M2FNUZ, 0x01), std::ldexp(1.0, -17));
  EXPECT_EQ(LowPrecisionToDouble(DType::kFloat8E4M3FN, 0x38), 1.0);
  EXPECT_EQ(LowPrecisionToDouble(DType::kFloat8E4M3FNUZ, 0x40), 1.0);
  EXPECT_EQ(LowPrecisionToDouble(DType::kFloat8E5M2, 0x3C), 1.0);
  EXPECT_EQ(LowPrecisionToDouble(DType::kFloat8E5M2FNUZ, 0x40), 1.0);
}

// Between consecutive finite codes a and a+1 (same sign), the midpoint goes to the even code and
// anything past it to the nearer one.
TEST(LowPrecisionTest, MidpointsRoundToEven) {
  for (DType t : {DType::kFloat8E4M3FN, DType::kFloat8E4M3FNUZ, DType::kFloat8E5M2, DType::kFloat8E5M2FNUZ,
                  DType::kFloat4E2M1}) {
    const int max_code = t == DType::kFloat4E2M1 ? 0x7 : static_cast<int>(DoubleToLowPrecision(t, MiniFloatMax(t)));
    for (int c = 0; c < max_code; ++c) {
      const double lo = LowPrecisionToDouble(t, static_cast<uint8_t>(c));
      const double hi = LowPrecisionToDouble(t, static_cast<uint8_t>(c + 1));
      const double mid = (lo + hi) / 2;
      SCOPED_TRACE(std::string(DTypeName(t)) + " between codes " + std::to_string(c) + " and " + std::to_string(c + 1));
      EXPECT_EQ(DoubleToLowPrecision(t, mid), c % 2 == 0 ? c : c + 1);
      EXPECT_EQ(DoubleToLowPrecision(t, std::nextafter(mid, 0.0)), c);
      EXPECT_EQ(DoubleToLowPrecision(t, std::nextafter(mid, 1e9)), c + 1);
      const int sign = t == DType::kFloat4E2M1 ? 0x8 : 0x80;
      if (c > 0 || t == DType::kFloat8E4M3FN || t == DType::kFloat8E5M2 || t == DType::kFloat4E2M1) {
        EXPECT_EQ(DoubleToLowPrecision(t, -std::nextafter(mid, 1e9)), (c + 1) | sign);
      }
    }
  }
}

TEST(LowPrecisionTest, SaturationFollowsTheCastTable) {
  const double inf = std::numeric_limits<double>::infinity();
  // saturate=1: beyond the range and ±Inf become ±max.
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat8E4M3FN, 1e6), 0x7E);
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat8E4M3FN, -inf), 0xFE);
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat8E4M3FNUZ, inf), 0x7F);
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat8E5M2, inf), 0x7B);
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat8E5M2FNUZ, -1e9), 0xFF);
  // saturate=0: NaN where the type has no infinity, ±Inf in e5m2; 464 is e4m3fn's tie that stays at 448.
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat8E4M3FN, 464.0, false), 0x7E);
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat8E4M3FN, 465.0, false), 0x7F);
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat8E4M3FN, -inf, false), 0xFF);
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat8E4M3FNUZ, 248.0, false), 0x80);
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat8E4M3FNUZ, 247.0, false), 0x7F);
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat8E5M2, 61440.0, false), 0x7C);
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat8E5M2, 61439.0, false), 0x7B);
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat8E5M2, -inf, false), 0xFC);
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat8E5M2FNUZ, inf, false), 0x80);
  // float4e2m1 has neither: it always saturates, and NaN becomes +6 (float4.md).
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat4E2M1, 100.0, false), 0x7);
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat4E2M1, -inf), 0xF);
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat4E2M1, std::nan("")), 0x7);
}

TEST(LowPrecisionTest, NanAndZeros) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat8E4M3FN, nan), 0x7F);
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat8E4M3FNUZ, nan), 0x80);
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat8E5M2, -nan), 0xFF);
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat8E5M2FNUZ, nan), 0x80);
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat8E4M3FN, -0.0), 0x80);
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat8E5M2, -0.0), 0x80);
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat4E2M1, -0.0), 0x8);
  // The fnuz types have no -0: 0x80 is their NaN, so -0 and negative underflow become +0.
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat8E4M3FNUZ, -0.0), 0x00);
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat8E5M2FNUZ, -1e-30), 0x00);
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat8E4M3FN, -1e-30), 0x80);
}

TEST(LowPrecisionTest, Float4E2M1AllSixteenValues) {
  const double expected[16] = {0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6};
  for (int c = 0; c < 16; ++c) {
    const double v = LowPrecisionToDouble(DType::kFloat4E2M1, static_cast<uint8_t>(c));
    EXPECT_EQ(v, expected[c]) << c;
    EXPECT_EQ(std::signbit(v), c >= 8) << c;
    EXPECT_EQ(DoubleToLowPrecision(DType::kFloat4E2M1, v), c) << c;
  }
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat4E2M1, 5.0), 0x6);   // tie between 4 and 6: even code (4)
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat4E2M1, 0.25), 0x0);  // tie between 0 and 0.5: 0
  EXPECT_EQ(DoubleToLowPrecision(DType::kFloat4E2M1, 0.75), 0x2);  // tie between 0.5 and 1: 1
}

TEST(LowPrecisionTest, FourBitIntegersRoundToEvenAndWrap) {
  for (int c = 0; c < 16; ++c) {
    EXPECT_EQ(LowPrecisionToDouble(DType::kUInt4, static_cast<uint8_t>(c)), c);
    EXPECT_EQ(LowPrecisionToDouble(DType::kInt4, static_cast<uint8_t>(c)), c < 8 ? c : c - 16);
    EXPECT_EQ(DoubleToLowPrecision(DType::kInt4, c < 8 ? c : c - 16), c);
  }
  EXPECT_EQ(DoubleToLowPrecision(DType::kInt4, 2.5), 2);
  EXPECT_EQ(DoubleToLowPrecision(DType::kInt4, -2.5), 0xE);  // -2
  EXPECT_EQ(DoubleToLowPrecision(DType::kUInt4, 17.0), 1);   // wraps modulo 16
  EXPECT_EQ(DoubleToLowPrecision(DType::kInt4, 8.0), 8);     // reads back as -8
}

TEST(LowPrecisionTest, PackingIsLowNibbleFirstAndPadsOddCounts) {
  const std::vector<uint8_t> codes = {0x1, 0x2, 0x3, 0x4, 0xF};
  EXPECT_EQ(PackedByteSize(DType::kInt4, codes.size()), 3u);
  EXPECT_EQ(PackedByteSize(DType::kFloat8E5M2, codes.size()), 5u);
  std::vector<uint8_t> packed(3, 0xAA);
  PackNibbles(codes.data(), codes.size(), packed.data());
  EXPECT_EQ(packed, (std::vector<uint8_t>{0x21, 0x43, 0x0F}));
  std::vector<uint8_t> back(codes.size());
  UnpackNibbles(packed.data(), back.size(), back.data());
  EXPECT_EQ(back, codes);
  std::vector<uint8_t> one(1);
  UnpackNibbles(packed.data(), 1, one.data());
  EXPECT_EQ(one[0], 0x1);
}

}  // namespace
}  // namespace tessera
