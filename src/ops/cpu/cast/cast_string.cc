// String <-> number conversions for Cast (see cast_string.h).
#include "ops/cpu/cast/cast_string.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <strings.h>

#include "ops/cpu/common/value_convert.h"

namespace tessera {
namespace {

template <typename F>
std::string FloatToText(F v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "INF" : "-INF";
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  return std::string(buf, result.ptr);
}

template <typename T>
std::string ValueToText(T v) {
  if constexpr (kIsHalf<T>) {
    return FloatToText(LoadValue(v));
  } else if constexpr (std::is_floating_point_v<T>) {
    return FloatToText(v);
  } else {
    return std::to_string(v);
  }
}

bool AtEnd(const char* p) {
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') ++p;
  return *p == '\0';
}

Status ParseError(const std::string& text, int64_t index, DType to) {
  return InvalidArgument("string element " + std::to_string(index) + " \"" + text + "\" is not a valid " + DTypeName(to));
}

// Parses `text` as T into `value`; false when it does not parse fully or is out of T's range.
template <typename T>
bool ParseText(const std::string& text, T& value) {
  const char* s = text.c_str();
  char* end = nullptr;
  errno = 0;
  if constexpr (std::is_same_v<T, bool>) {
    if (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0) {
      value = strcasecmp(s, "true") == 0;
      return true;
    }
    const double d = std::strtod(s, &end);
    value = d != 0;
  } else if constexpr (std::is_same_v<T, float>) {
    value = std::strtof(s, &end);  // overflow gives +-inf, which is the right float value
  } else if constexpr (std::is_same_v<T, double>) {
    value = std::strtod(s, &end);
  } else if constexpr (kIsHalf<T>) {
    value = ConvertValue<T>(std::strtod(s, &end));
  } else if constexpr (std::is_signed_v<T>) {
    const long long v = std::strtoll(s, &end, 10);
    if (errno == ERANGE || v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) return false;
    value = static_cast<T>(v);
  } else {
    while (*s == ' ' || *s == '\t') ++s;
    if (*s == '-') return false;  // strtoull would wrap negative numbers
    const unsigned long long v = std::strtoull(s, &end, 10);
    if (errno == ERANGE || v > std::numeric_limits<T>::max()) return false;
    value = static_cast<T>(v);
  }
  return end != s && AtEnd(end);
}

}  // namespace

Status CastToString(const Tensor& in, Tensor& out) {
  std::string* dst = out.data<std::string>();
  const int64_t n = in.element_count();
  if (in.dtype() == DType::kBool) {
    const uint8_t* src = in.data<uint8_t>();
    for (int64_t i = 0; i < n; ++i) dst[i].assign(1, src[i] ? '1' : '0');
    return Status::Ok();
  }
  return DispatchTypeClass<TypeClass::kNumeric>(
      in.dtype(),
      [&](auto tag) {
        using T = decltype(tag);
        const T* src = in.data<T>();
        for (int64_t i = 0; i < n; ++i) dst[i] = ValueToText(src[i]);
        return Status::Ok();
      },
      "Cast to string");
}

Status CastFromString(const Tensor& in, Tensor& out) {
  const std::string* src = in.data<std::string>();
  const int64_t n = in.element_count();
  return DispatchTypeClass<TypeClass::kNumericOrBool>(
      out.dtype(),
      [&](auto tag) {
        using T = decltype(tag);
        T* dst = out.data<T>();
        for (int64_t i = 0; i < n; ++i) {
          if (!ParseText(src[i], dst[i])) return ParseError(src[i], i, out.dtype());
        }
        return Status::Ok();
      },
      "Cast from string");
}

}  // namespace tessera
