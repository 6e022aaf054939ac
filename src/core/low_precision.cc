// Low-precision conversions: one description per mini float format, one decoder and one encoder for all.
#include "core/low_precision.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace tessera {

namespace {

enum class Specials {
  kIeee,       // e5m2: all-ones exponent is Inf (mantissa 0) or NaN
  kFiniteNan,  // e4m3fn: no Inf; S.1111.111 is NaN
  kUnsignedZeroNan,  // fnuz: no Inf, no -0; 0x80 is the only NaN
  kNone,       // float4e2m1: every code is a number
};

struct MiniFloatFormat {
  int total_bits;
  int mantissa_bits;
  int bias;
  uint8_t max_code;  // largest finite positive code
  Specials specials;
};

MiniFloatFormat FormatOf(DType dtype) {
  switch (dtype) {
    case DType::kFloat8E4M3FN: return {8, 3, 7, 0x7E, Specials::kFiniteNan};
    case DType::kFloat8E4M3FNUZ: return {8, 3, 8, 0x7F, Specials::kUnsignedZeroNan};
    case DType::kFloat8E5M2: return {8, 2, 15, 0x7B, Specials::kIeee};
    case DType::kFloat8E5M2FNUZ: return {8, 2, 16, 0x7F, Specials::kUnsignedZeroNan};
    default: return {4, 1, 1, 0x7, Specials::kNone};  // kFloat4E2M1
  }
}

double DecodeMiniFloat(const MiniFloatFormat& f, uint8_t code) {
  const int sign_shift = f.total_bits - 1;
  const uint8_t magnitude = static_cast<uint8_t>(code & ((1u << sign_shift) - 1));
  const bool negative = (code >> sign_shift) & 1;
  const int exponent = magnitude >> f.mantissa_bits;
  const int mantissa = magnitude & ((1 << f.mantissa_bits) - 1);
  const int max_exponent = (1 << (f.total_bits - 1 - f.mantissa_bits)) - 1;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  switch (f.specials) {
    case Specials::kIeee:
      if (exponent == max_exponent) {
        if (mantissa != 0) return nan;
        return negative ? -HUGE_VAL : HUGE_VAL;
      }
      break;
    case Specials::kFiniteNan:
      if (magnitude == (1u << sign_shift) - 1) return nan;
      break;
    case Specials::kUnsignedZeroNan:
      if (code == 0x80) return nan;
      break;
    case Specials::kNone: break;
  }
  double value = exponent == 0 ? std::ldexp(mantissa, 1 - f.bias - f.mantissa_bits)
                               : std::ldexp((1 << f.mantissa_bits) + mantissa, exponent - f.bias - f.mantissa_bits);
  return negative ? -value : value;
}

uint8_t NanCode(const MiniFloatFormat& f, bool negative) {
  switch (f.specials) {
    case Specials::kIeee:
    case Specials::kFiniteNan: return static_cast<uint8_t>(0x7F | (negative ? 0x80 : 0));
    case Specials::kUnsignedZeroNan: return 0x80;
    case Specials::kNone: return f.max_code;  // float4.md: NaN -> +6
  }
  return 0;
}

// The code for what comes after rounding beyond the largest finite value without saturation.
uint8_t OverflowCode(const MiniFloatFormat& f, bool negative) {
  if (f.specials == Specials::kIeee) return static_cast<uint8_t>(0x7C | (negative ? 0x80 : 0));
  if (f.specials == Specials::kNone) return static_cast<uint8_t>(f.max_code | (negative ? 0x8 : 0));
  return NanCode(f, negative);
}

uint8_t EncodeMiniFloat(const MiniFloatFormat& f, double value, bool saturate) {
  const bool negative = std::signbit(value);
  const uint8_t sign = negative ? static_cast<uint8_t>(1u << (f.total_bits - 1)) : 0;
  if (std::isnan(value)) return NanCode(f, negative);
  if (f.specials == Specials::kNone) saturate = true;
  const double max_value = DecodeMiniFloat(f, f.max_code);
  const double magnitude = std::fabs(value);
  if (std::isinf(magnitude)) return saturate ? static_cast<uint8_t>(sign | f.max_code) : OverflowCode(f, negative);

  // The spacing of representable values around `magnitude`: 2^(e - mantissa_bits) for its binary
  // exponent e, never finer than the subnormal spacing. Dividing by a power of two is exact, so the
  // rounding below is the only one.
  const int min_exponent = 1 - f.bias;
  int exponent = min_exponent;
  if (magnitude > 0) {
    int e2 = 0;
    std::frexp(magnitude, &e2);  // magnitude = m * 2^e2, m in [0.5, 1)
    exponent = std::max(e2 - 1, min_exponent);
  }
  const double quantum = std::ldexp(1.0, exponent - f.mantissa_bits);
  const double steps = magnitude / quantum;
  double rounded = std::floor(steps);
  const double rest = steps - rounded;
  if (rest > 0.5 || (rest == 0.5 && std::fmod(rounded, 2.0) != 0)) rounded += 1;
  const double result = rounded * quantum;

  if (result > max_value) return saturate ? static_cast<uint8_t>(sign | f.max_code) : OverflowCode(f, negative);
  if (result == 0) return f.specials == Specials::kUnsignedZeroNan ? 0 : sign;
  int result_exponent = 0;
  std::frexp(result, &result_exponent);
  --result_exponent;
  uint8_t magnitude_code;
  if (result_exponent < min_exponent) {
    magnitude_code = static_cast<uint8_t>(result / std::ldexp(1.0, min_exponent - f.mantissa_bits));
  } else {
    const int scaled = static_cast<int>(std::ldexp(result, f.mantissa_bits - result_exponent));
    const int mantissa = scaled - (1 << f.mantissa_bits);  // drop the implicit leading bit
    magnitude_code = static_cast<uint8_t>(((result_exponent + f.bias) << f.mantissa_bits) | mantissa);
  }
  return static_cast<uint8_t>(sign | magnitude_code);
}

uint8_t EncodeFourBitInteger(DType dtype, double value) {
  if (std::isnan(value)) return 0;
  // Beyond int64 the low four bits are all zero anyway; clamping keeps the conversion defined.
  value = std::nearbyint(std::fmin(std::fmax(value, -9.2e18), 9.2e18));  // default mode: ties to even
  const int64_t integer = static_cast<int64_t>(value);
  (void)dtype;  // both keep the two's-complement low nibble
  return static_cast<uint8_t>(static_cast<uint64_t>(integer) & 0xF);
}

constexpr uint8_t kE8M0Nan = 0xFF;
constexpr uint8_t kE8M0Max = 0xFE;  // 2^127

double DecodeFloat8E8M0(uint8_t code) {
  if (code == kE8M0Nan) return std::numeric_limits<double>::quiet_NaN();
  return std::ldexp(1.0, static_cast<int>(code) - 127);
}

}  // namespace

bool ParseE8M0Rounding(const std::string& name, E8M0Rounding& rounding) {
  if (name == "up") rounding = E8M0Rounding::kUp;
  else if (name == "down") rounding = E8M0Rounding::kDown;
  else if (name == "nearest") rounding = E8M0Rounding::kNearest;
  else return false;
  return true;
}

uint8_t DoubleToFloat8E8M0(double value, bool saturate, E8M0Rounding rounding) {
  const float f = static_cast<float>(value);  // the reference converts from float32
  uint32_t bits = 0;
  std::memcpy(&bits, &f, sizeof(bits));
  const uint32_t exponent = (bits >> 23) & 0xFF;
  if (exponent == 0xFF) return kE8M0Nan;  // NaN and +-Inf
  const uint32_t mantissa = bits & 0x7FFFFF;
  bool round_up = false;
  switch (rounding) {
    case E8M0Rounding::kUp: round_up = mantissa != 0; break;
    case E8M0Rounding::kDown: break;
    case E8M0Rounding::kNearest: {
      // At or past the mantissa's half; for exponent field 0 (no implicit bit) exactly half stays down.
      const bool half = (mantissa & 0x400000) != 0;
      round_up = half && ((mantissa & 0x3FFFFF) != 0 || exponent > 0);
      break;
    }
  }
  if (!round_up) return static_cast<uint8_t>(exponent);
  if (exponent == kE8M0Max) return saturate ? kE8M0Max : kE8M0Nan;
  return static_cast<uint8_t>(exponent + 1);
}

bool IsMiniFloat(DType dtype) {
  return dtype == DType::kFloat8E4M3FN || dtype == DType::kFloat8E4M3FNUZ || dtype == DType::kFloat8E5M2 ||
         dtype == DType::kFloat8E5M2FNUZ || dtype == DType::kFloat8E8M0 || dtype == DType::kFloat4E2M1;
}

bool IsPackedFourBit(DType dtype) {
  return dtype == DType::kInt4 || dtype == DType::kUInt4 || dtype == DType::kFloat4E2M1;
}

bool IsLowPrecision(DType dtype) { return IsMiniFloat(dtype) || IsPackedFourBit(dtype); }

double LowPrecisionToDouble(DType dtype, uint8_t code) {
  if (dtype == DType::kUInt4) return code & 0xF;
  if (dtype == DType::kInt4) return (code & 0x8) ? static_cast<int>(code & 0xF) - 16 : (code & 0xF);
  if (dtype == DType::kFloat8E8M0) return DecodeFloat8E8M0(code);
  if (dtype == DType::kFloat4E2M1) code &= 0xF;
  return DecodeMiniFloat(FormatOf(dtype), code);
}

uint8_t DoubleToLowPrecision(DType dtype, double value, bool saturate) {
  if (dtype == DType::kInt4 || dtype == DType::kUInt4) return EncodeFourBitInteger(dtype, value);
  if (dtype == DType::kFloat8E8M0) return DoubleToFloat8E8M0(value, saturate, E8M0Rounding::kUp);
  return EncodeMiniFloat(FormatOf(dtype), value, saturate);
}

double MiniFloatMax(DType dtype) {
  if (dtype == DType::kFloat8E8M0) return DecodeFloat8E8M0(kE8M0Max);
  const MiniFloatFormat f = FormatOf(dtype);
  return DecodeMiniFloat(f, f.max_code);
}

size_t PackedByteSize(DType dtype, size_t count) {
  return IsPackedFourBit(dtype) ? (count + 1) / 2 : count * DTypeSize(dtype);
}

void PackNibbles(const uint8_t* codes, size_t count, uint8_t* packed) {
  for (size_t i = 0; i < count / 2; ++i) {
    packed[i] = static_cast<uint8_t>((codes[2 * i] & 0xF) | ((codes[2 * i + 1] & 0xF) << 4));
  }
  if (count % 2) packed[count / 2] = codes[count - 1] & 0xF;
}

void UnpackNibbles(const uint8_t* packed, size_t count, uint8_t* codes) {
  for (size_t i = 0; i < count; ++i) codes[i] = (packed[i / 2] >> ((i % 2) * 4)) & 0xF;
}

}  // namespace tessera
