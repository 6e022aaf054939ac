// Writing a double into an element of any numeric dtype (the 16-bit floats and bool included): used by
// the generators and by Pad's attribute `value`.
#pragma once

#include <type_traits>

#include "ops/cpu/common/numeric_traits.h"

namespace tessera {

// Calls f with a storage-type tag for every numeric dtype, the 16-bit floats and bool.
template <typename F>
Status DispatchGenerated(DType dtype, F&& f, const char* what) {
  if (dtype == DType::kBool) return f(bool{});
  return DispatchNumericWithHalf(dtype, f, what);
}

// `value` converted to storage type T (bool: nonzero is true).
template <typename T>
T StoreGenerated(double value) {
  if constexpr (std::is_same_v<T, bool>) {
    return value != 0;
  } else {
    return NumericTraits<T>::Store(static_cast<typename NumericTraits<T>::Compute>(value));
  }
}

}  // namespace tessera
