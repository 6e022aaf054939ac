// Rounding, saturation and per-axis parameter lookup shared by the quantization kernels.
//
// ONNX quantization rounds half to even (numpy.rint) and saturates to the integer type's range.
// std::nearbyint rounds half to even under the default floating-point environment, which Tessera never
// changes.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include "ops/kernel.h"

namespace tessera {

// saturate(rint(v) + zero_point) into Q.
template <typename Q>
inline Q QuantizeValue(float v, int32_t zero_point) {
  const float r = std::nearbyint(v) + static_cast<float>(zero_point);
  constexpr float lo = static_cast<float>(std::numeric_limits<Q>::lowest());
  constexpr float hi = static_cast<float>(std::numeric_limits<Q>::max());
  if (!(r >= lo)) return std::isnan(r) ? Q(0) : std::numeric_limits<Q>::lowest();
  if (r > hi) return std::numeric_limits<Q>::max();
  return static_cast<Q>(r);
}

// QuantizeValue<Q>(x[i] / scale, zero_point) for i < n, Q uint8 or int8 (quantize_floats.cc: one loop the
// compiler vectorizes, built per instruction set).
void QuantizeFloatsToUInt8(const float* x, int64_t n, float scale, int32_t zero_point, uint8_t* y);
void QuantizeFloatsToInt8(const float* x, int64_t n, float scale, int32_t zero_point, int8_t* y);

template <typename Q>
inline void QuantizeFloats(const float* x, int64_t n, float scale, int32_t zero_point, Q* y) {
  static_assert(std::is_same_v<Q, uint8_t> || std::is_same_v<Q, int8_t>, "QuantizeFloats writes uint8 or int8");
  if constexpr (std::is_same_v<Q, uint8_t>) {
    QuantizeFloatsToUInt8(x, n, scale, zero_point, y);
  } else {
    QuantizeFloatsToInt8(x, n, scale, zero_point, y);
  }
}

// Whether a per-axis parameter of `count` elements fits an axis of `axis_dim` (1 means per tensor).
inline Status CheckQuantParam(const Tensor& param, int64_t axis_dim, const char* what) {
  const int64_t count = param.element_count();
  if (count == 1 || (param.rank() == 1 && count == axis_dim)) return Status::Ok();
  return KernelContext::Error(std::string(what) + " must be a scalar or a 1-D tensor of " + std::to_string(axis_dim) +
                              " elements (the quantization axis), got " + ShapeToString(param.shape()));
}

// Reads element i of a uint8/int8/int32 zero-point tensor as int32.
inline int32_t ZeroPointAt(const Tensor& zp, int64_t i) {
  switch (zp.dtype()) {
    case DType::kUInt8:
      return zp.data<uint8_t>()[i];
    case DType::kInt8:
      return zp.data<int8_t>()[i];
    case DType::kUInt16:
      return zp.data<uint16_t>()[i];
    case DType::kInt16:
      return zp.data<int16_t>()[i];
    case DType::kInt32:
      return zp.data<int32_t>()[i];
    default:
      return 0;
  }
}

}  // namespace tessera
