// Scalar conversions between element types, as Cast defines them, without undefined behaviour.
//
// ConvertValue<To>(from) over every storage type (Float16/BFloat16 bit patterns, bool, numbers):
// - to bool: nonzero (NaN included) is true; from bool: 0 or 1.
// - float to integer truncates toward zero; NaN becomes 0; values beyond int64 saturate; narrower
//   integer targets then wrap modulo 2^bits as numpy's casts do on x86 (so -1.0 -> uint8 is 255).
// - integer to integer wraps; double to float16/bfloat16 rounds once (via round-to-odd float), so
//   the result is the correctly rounded nearest-even value rather than a double rounding.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "ops/cpu/common/type_class.h"

namespace tessera {

template <typename I, typename F>
inline I FloatToInt(F x) {
  if (!(x == x)) return I(0);
  if constexpr (std::is_same_v<I, uint64_t>) {
    if (x >= F(18446744073709551616.0)) return std::numeric_limits<uint64_t>::max();
    if (x >= F(0)) return static_cast<uint64_t>(x);
    return static_cast<uint64_t>(FloatToInt<int64_t>(x));
  } else if constexpr (std::is_same_v<I, int64_t>) {
    if (x >= F(9223372036854775808.0)) return std::numeric_limits<int64_t>::max();
    if (x < F(-9223372036854775808.0)) return std::numeric_limits<int64_t>::min();
    return static_cast<int64_t>(x);
  } else if constexpr (std::is_same_v<I, int32_t>) {
    // The common case gets its own bounds so the conversion stays a single 32-bit instruction.
    if (x >= F(2147483648.0) || x < F(-2147483648.0)) return static_cast<int32_t>(FloatToInt<int64_t>(x));
    return static_cast<int32_t>(x);
  } else {
    return static_cast<I>(FloatToInt<int64_t>(x));
  }
}

// The float nearest to `d` rounded toward zero with its last bit set when inexact ("round to odd"):
// rounding that float again to a narrower format gives the correctly rounded result of `d`.
inline float DoubleToFloatRoundToOdd(double d) {
  float f = static_cast<float>(d);
  if (!std::isfinite(f) || static_cast<double>(f) == d) return f;
  uint32_t bits = std::bit_cast<uint32_t>(f);
  if (std::fabs(static_cast<double>(f)) > std::fabs(d)) --bits;  // step back toward zero
  return std::bit_cast<float>(bits | 1u);
}

template <typename To, typename From>
inline To ConvertValue(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (kIsHalf<From>) {
    return ConvertValue<To>(LoadValue(v));
  } else if constexpr (std::is_same_v<To, Float16>) {
    if constexpr (std::is_same_v<From, double>) return Float16{FloatToHalf(DoubleToFloatRoundToOdd(v))};
    else return Float16{FloatToHalf(static_cast<float>(v))};
  } else if constexpr (std::is_same_v<To, BFloat16>) {
    if constexpr (std::is_same_v<From, double>) return BFloat16{FloatToBFloat16(DoubleToFloatRoundToOdd(v))};
    else return BFloat16{FloatToBFloat16(static_cast<float>(v))};
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (std::is_same_v<From, bool>) {
    return static_cast<To>(v ? 1 : 0);
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<From>) {
    return FloatToInt<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

}  // namespace tessera
