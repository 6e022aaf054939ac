// Shared vocabulary of the elementwise and cast kernels: which dtypes an op accepts (TypeClass), dtype
// dispatch over those classes, storage/compute conversion for the 16-bit floats, and integer arithmetic
// that wraps instead of overflowing (signed overflow on model data must not be undefined behaviour).
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

#include "ops/cpu/common/numeric_traits.h"
#include "ops/dispatch.h"
#include "ops/kernel.h"

namespace tessera {

// Tensors above this many elements are split over the thread pool; below it a loop is too short to
// repay waking the workers.
constexpr int64_t kElementwiseParallelThreshold = 64 * 1024;
constexpr int64_t kElementwiseMinChunk = 16 * 1024;

enum class TypeClass {
  kFloat,            // float32, float64, float16, bfloat16
  kSignedOrFloat,    // plus int8..int64
  kNumeric,          // every number type
  kNumericOrBool,
  kInteger,          // int8..uint64
  kUnsigned,         // uint8..uint64
  kBool,
  kIntegerOrBool,
};

template <typename T>
constexpr bool kIsHalf = std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>;
template <typename T>
constexpr bool kIsFloat = std::is_floating_point_v<T> || kIsHalf<T>;

template <typename T>
constexpr bool InTypeClass(TypeClass c) {
  constexpr bool is_int = std::is_integral_v<T> && !std::is_same_v<T, bool>;
  switch (c) {
    case TypeClass::kFloat: return kIsFloat<T>;
    case TypeClass::kSignedOrFloat: return kIsFloat<T> || (is_int && std::is_signed_v<T>);
    case TypeClass::kNumeric: return kIsFloat<T> || is_int;
    case TypeClass::kNumericOrBool: return kIsFloat<T> || is_int || std::is_same_v<T, bool>;
    case TypeClass::kInteger: return is_int;
    case TypeClass::kUnsigned: return is_int && std::is_unsigned_v<T>;
    case TypeClass::kBool: return std::is_same_v<T, bool>;
    case TypeClass::kIntegerOrBool: return is_int || std::is_same_v<T, bool>;
  }
  return false;
}

// Calls f(T{}) for the storage type of `dtype` when it is in class `C`; bool is dispatched as bool
// (callers read bool tensors through uint8_t, see LoadBool). Other dtypes are an Unimplemented error.
template <TypeClass C, typename F>
Status DispatchTypeClass(DType dtype, F&& f, const std::string& what) {
  auto call = [&](auto tag) -> Status {
    using T = decltype(tag);
    if constexpr (InTypeClass<T>(C)) {
      return f(tag);
    } else {
      return UnsupportedDType(what.c_str(), dtype);
    }
  };
  switch (dtype) {
    case DType::kBool: return call(bool{});
    case DType::kFloat16: return call(Float16{});
    case DType::kBFloat16: return call(BFloat16{});
    default: return DispatchNumeric(dtype, call, what.c_str());
  }
}

// Storage <-> compute: 16-bit floats compute in float32, everything else in itself.
template <typename T>
using ComputeOf = typename NumericTraits<T>::Compute;
template <typename T>
inline ComputeOf<T> LoadValue(T v) { return NumericTraits<T>::Load(v); }
template <typename T>
inline T StoreValue(ComputeOf<T> v) { return NumericTraits<T>::Store(v); }

// Bool tensors are read as bytes: a model may hold bytes other than 0 and 1, which are not valid bools.
inline bool LoadBool(uint8_t v) { return v != 0; }

// Two's-complement wrapping arithmetic for integers (plain arithmetic for floats).
template <typename T>
inline T WrapAdd(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
  } else {
    return a + b;
  }
}
template <typename T>
inline T WrapSub(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
  } else {
    return a - b;
  }
}
template <typename T>
inline T WrapMul(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    // uint16 * uint16 promotes to (signed) int and may overflow it: multiply in at least 32-bit unsigned.
    using U = std::conditional_t<(sizeof(T) < 4), uint32_t, std::make_unsigned_t<T>>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) * static_cast<U>(b)));
  } else {
    return a * b;
  }
}
template <typename T>
inline T WrapNeg(T a) { return WrapSub(T(0), a); }

}  // namespace tessera
