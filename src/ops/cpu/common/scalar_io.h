// Helpers shared by the signal kernels (signal_dft.cc, signal_window.cc): scalar inputs, loading any
// float dtype as double, and writing double results into any numeric output dtype.
#pragma once

#include <string>
#include <vector>

#include "ops/cpu/common/numeric_traits.h"
#include "ops/op_helpers.h"

namespace tessera {

// The single value of an int32/int64 input (a scalar or a one-element tensor).
inline StatusOr<int64_t> ReadScalarInt(const Tensor& t, const char* what) {
  if (t.element_count() != 1) {
    return KernelContext::Error(std::string(what) + " must be a scalar, got shape " + ShapeToString(t.shape()));
  }
  TS_ASSIGN_OR_RETURN(std::vector<int64_t> values, ReadInt64Values(t, what));
  return values[0];
}

// The single value of a float input (float32/64/16, bfloat16) as double.
inline StatusOr<double> ReadScalarFloat(const Tensor& t, const char* what) {
  if (t.element_count() != 1) {
    return KernelContext::Error(std::string(what) + " must be a scalar, got shape " + ShapeToString(t.shape()));
  }
  double value = 0;
  TS_RETURN_IF_ERROR(DispatchFloatWithHalf(
      t.dtype(),
      [&](auto tag) {
        using T = decltype(tag);
        value = static_cast<double>(NumericTraits<T>::Load(t.data<T>()[0]));
        return Status::Ok();
      },
      what));
  return value;
}

// Every element of a float tensor as double.
inline StatusOr<std::vector<double>> ReadDoubles(const Tensor& t, const char* what) {
  std::vector<double> values(static_cast<size_t>(t.element_count()));
  TS_RETURN_IF_ERROR(DispatchFloatWithHalf(
      t.dtype(),
      [&](auto tag) {
        using T = decltype(tag);
        const T* p = t.data<T>();
        for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(NumericTraits<T>::Load(p[i]));
        return Status::Ok();
      },
      what));
  return values;
}

// Writes `values` into `out` (any numeric dtype, 16-bit floats included) with a C++ conversion, which
// truncates towards zero for integer dtypes as the reference implementations do.
inline Status WriteDoubles(const std::vector<double>& values, Tensor& out, const char* what) {
  return DispatchNumericWithHalf(
      out.dtype(),
      [&](auto tag) {
        using T = decltype(tag);
        using C = typename NumericTraits<T>::Compute;
        T* p = out.data<T>();
        for (size_t i = 0; i < values.size(); ++i) p[i] = NumericTraits<T>::Store(static_cast<C>(values[i]));
        return Status::Ok();
      },
      what);
}

// The dtype named by an `output_datatype` attribute, when it is one the kernels can write.
inline StatusOr<DType> OutputDTypeAttribute(int64_t value) {
  const bool numeric = value >= 1 && value <= 16 && IsKnownDType(static_cast<int32_t>(value)) &&
                       value != static_cast<int64_t>(DType::kString) && value != static_cast<int64_t>(DType::kBool);
  if (!numeric) {
    return KernelContext::Error("attribute 'output_datatype' must name a numeric dtype, got " + std::to_string(value));
  }
  return static_cast<DType>(value);
}

}  // namespace tessera
