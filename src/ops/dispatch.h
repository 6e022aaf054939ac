// Dtype dispatch: call a generic lambda with a value of the C++ type that matches a DType.
//
// Usage: `return DispatchNumeric(x.dtype(), [&](auto tag) { using T = decltype(tag); ... });`
// The lambda is instantiated for every type in the set, so keep its body type-generic.
#pragma once

#include <cstdint>
#include <string>

#include "core/half.h"
#include "tessera/tensor.h"

namespace tessera {

// float16/bfloat16 stored as their bit patterns; kernels that support them convert through float.
struct Float16 { uint16_t bits; };
struct BFloat16 { uint16_t bits; };

inline Status UnsupportedDType(const char* what, DType dtype) {
  return Unimplemented(std::string(what) + " does not support dtype " + DTypeName(dtype));
}

// Every fixed-size numeric type except the 16-bit floats.
template <typename F>
Status DispatchNumeric(DType dtype, F&& f, const char* what = "this op") {
  switch (dtype) {
    case DType::kFloat32: return f(float{});
    case DType::kFloat64: return f(double{});
    case DType::kInt8: return f(int8_t{});
    case DType::kUInt8: return f(uint8_t{});
    case DType::kInt16: return f(int16_t{});
    case DType::kUInt16: return f(uint16_t{});
    case DType::kInt32: return f(int32_t{});
    case DType::kUInt32: return f(uint32_t{});
    case DType::kInt64: return f(int64_t{});
    case DType::kUInt64: return f(uint64_t{});
    default: return UnsupportedDType(what, dtype);
  }
}

template <typename F>
Status DispatchFloat(DType dtype, F&& f, const char* what = "this op") {
  switch (dtype) {
    case DType::kFloat32: return f(float{});
    case DType::kFloat64: return f(double{});
    default: return UnsupportedDType(what, dtype);
  }
}

// Any dtype, by element size only: for ops that move data without looking at it (Transpose, Gather).
// Strings are dispatched as std::string.
template <typename F>
Status DispatchByElementSize(DType dtype, F&& f, const char* what = "this op") {
  if (dtype == DType::kString) return f(std::string{});
  switch (DTypeSize(dtype)) {
    case 1: return f(uint8_t{});
    case 2: return f(uint16_t{});
    case 4: return f(uint32_t{});
    case 8: return f(uint64_t{});
    default: return UnsupportedDType(what, dtype);
  }
}

// Maps a C++ type to its DType.
template <typename T> constexpr DType DTypeOf();
template <> constexpr DType DTypeOf<float>() { return DType::kFloat32; }
template <> constexpr DType DTypeOf<double>() { return DType::kFloat64; }
template <> constexpr DType DTypeOf<int8_t>() { return DType::kInt8; }
template <> constexpr DType DTypeOf<uint8_t>() { return DType::kUInt8; }
template <> constexpr DType DTypeOf<int16_t>() { return DType::kInt16; }
template <> constexpr DType DTypeOf<uint16_t>() { return DType::kUInt16; }
template <> constexpr DType DTypeOf<int32_t>() { return DType::kInt32; }
template <> constexpr DType DTypeOf<uint32_t>() { return DType::kUInt32; }
template <> constexpr DType DTypeOf<int64_t>() { return DType::kInt64; }
template <> constexpr DType DTypeOf<uint64_t>() { return DType::kUInt64; }
template <> constexpr DType DTypeOf<bool>() { return DType::kBool; }
template <> constexpr DType DTypeOf<std::string>() { return DType::kString; }

}  // namespace tessera
