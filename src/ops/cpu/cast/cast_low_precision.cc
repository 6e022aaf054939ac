// Cast through double for the low-precision types; see the header.
#include "ops/cpu/cast/cast_low_precision.h"

#include "core/low_precision.h"
#include "ops/cpu/common/broadcast.h"
#include "ops/cpu/common/value_convert.h"

namespace tessera {

namespace {

// Calls read(i) -> double for each element of `in`, in ranges over the pool, handing each value to write.
template <typename Write>
Status ForEachAsDouble(const Tensor& in, ThreadPool& pool, Write&& write) {
  const int64_t n = in.element_count();
  if (IsLowPrecision(in.dtype())) {
    const uint8_t* codes = in.data<uint8_t>();
    const DType dtype = in.dtype();
    // 256 entries cover every code: decoding becomes a lookup.
    double table[256];
    for (int c = 0; c < 256; ++c) table[c] = LowPrecisionToDouble(dtype, static_cast<uint8_t>(c));
    ForEachElementRange(n, pool, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) write(i, table[codes[i]]);
    });
    return Status::Ok();
  }
  return DispatchTypeClass<TypeClass::kNumericOrBool>(
      in.dtype(),
      [&](auto tag) {
        using T = decltype(tag);
        using S = std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>;
        const S* src = in.data<S>();
        ForEachElementRange(n, pool, [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) {
            if constexpr (std::is_same_v<T, bool>) write(i, LoadBool(src[i]) ? 1.0 : 0.0);
            else write(i, ConvertValue<double>(src[i]));
          }
        });
        return Status::Ok();
      },
      "Cast input");
}

}  // namespace

Status CastLowPrecision(const Tensor& in, Tensor& out, bool saturate, E8M0Rounding rounding, ThreadPool& pool) {
  const DType to = out.dtype();
  if (to == DType::kFloat8E8M0) {
    uint8_t* dst = out.data<uint8_t>();
    return ForEachAsDouble(in, pool, [&](int64_t i, double v) { dst[i] = DoubleToFloat8E8M0(v, saturate, rounding); });
  }
  if (IsLowPrecision(to)) {
    uint8_t* dst = out.data<uint8_t>();
    return ForEachAsDouble(in, pool, [&](int64_t i, double v) { dst[i] = DoubleToLowPrecision(to, v, saturate); });
  }
  return DispatchTypeClass<TypeClass::kNumericOrBool>(
      to,
      [&](auto tag) {
        using T = decltype(tag);
        using S = std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>;
        S* dst = out.data<S>();
        return ForEachAsDouble(in, pool, [&](int64_t i, double v) {
          if constexpr (std::is_same_v<T, bool>) dst[i] = v != 0.0;  // NaN is true, as elsewhere in Cast
          else dst[i] = ConvertValue<T>(v);
        });
      },
      "Cast output");
}

}  // namespace tessera
