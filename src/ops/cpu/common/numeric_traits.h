// Storage vs compute types for the reduction, softmax and normalization families.
//
// Kernels are written over a storage type T (what the tensor holds) and compute in NumericTraits<T>::
// Compute: float16 and bfloat16 compute in float32, everything else in itself. Load/Store convert.
// DispatchWithHalf extends DispatchFloat/DispatchNumeric with the two 16-bit float types.
#pragma once

#include <type_traits>

#include "core/half.h"
#include "ops/dispatch.h"

namespace tessera {

template <typename T>
struct NumericTraits {
  using Compute = T;
  static Compute Load(T v) { return v; }
  static T Store(Compute v) { return v; }
};

template <>
struct NumericTraits<Float16> {
  using Compute = float;
  static float Load(Float16 v) { return HalfToFloat(v.bits); }
  static Float16 Store(float v) { return Float16{FloatToHalf(v)}; }
};

template <>
struct NumericTraits<BFloat16> {
  using Compute = float;
  static float Load(BFloat16 v) { return BFloat16ToFloat(v.bits); }
  static BFloat16 Store(float v) { return BFloat16{FloatToBFloat16(v)}; }
};

// The DType of a storage type, including the 16-bit floats.
template <typename T>
constexpr DType StorageDType() {
  if constexpr (std::is_same_v<T, Float16>) {
    return DType::kFloat16;
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    return DType::kBFloat16;
  } else {
    return DTypeOf<T>();
  }
}

// float32, float64, float16 and bfloat16.
template <typename F>
Status DispatchFloatWithHalf(DType dtype, F&& f, const char* what = "this op") {
  switch (dtype) {
    case DType::kFloat16: return f(Float16{});
    case DType::kBFloat16: return f(BFloat16{});
    default: return DispatchFloat(dtype, f, what);
  }
}

// Every numeric type, including the 16-bit floats.
template <typename F>
Status DispatchNumericWithHalf(DType dtype, F&& f, const char* what = "this op") {
  switch (dtype) {
    case DType::kFloat16: return f(Float16{});
    case DType::kBFloat16: return f(BFloat16{});
    default: return DispatchNumeric(dtype, f, what);
  }
}

}  // namespace tessera
