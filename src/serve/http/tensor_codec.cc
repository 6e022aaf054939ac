// JSON and binary tensor contents <-> Tensor (see tensor_codec.h for the formats).
#include "serve/http/tensor_codec.h"

#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "core/half.h"
#include "core/low_precision.h"
#include "serve/kserve_datatype.h"
#include "serve/low_precision_wire.h"

namespace tessera::serve::http {

namespace {

using nlohmann::json;

// Nested arrays deeper than any tensor rank Tessera accepts are refused rather than walked.
constexpr int kMaxDataDepth = 64;

std::string Where(const std::string& name) { return "input '" + name + "': "; }

// Counts the leaves of a (possibly nested) data array; -1 when it nests too deeply.
int64_t CountLeaves(const json& v, int depth) {
  if (!v.is_array()) return 1;
  if (depth > kMaxDataDepth) return -1;
  int64_t n = 0;
  for (const json& item : v) {
    int64_t c = CountLeaves(item, depth + 1);
    if (c < 0) return -1;
    n += c;
  }
  return n;
}

// Visits the leaves in row-major order; stops at the first error.
template <typename Fn>
Status ForEachLeaf(const json& v, int64_t& index, Fn&& fn) {
  if (!v.is_array()) return fn(v, index++);
  for (const json& item : v) TS_RETURN_IF_ERROR(ForEachLeaf(item, index, fn));
  return Status::Ok();
}

Status BadValue(const std::string& name, int64_t index, const json& v, const char* expected) {
  std::string shown = v.dump();
  if (shown.size() > 40) shown = shown.substr(0, 40) + "...";
  return InvalidArgument(Where(name) + "data[" + std::to_string(index) + "] is " + shown + ", expected " + expected);
}

template <typename T>
Status StoreInteger(const json& v, T* dst, const std::string& name, int64_t index) {
  if (!v.is_number_integer()) return BadValue(name, index, v, "an integer");
  bool fits;
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    fits = u <= static_cast<uint64_t>(std::numeric_limits<T>::max());
    if (fits) dst[index] = static_cast<T>(u);
  } else {
    int64_t s = v.get<int64_t>();
    if constexpr (std::is_signed_v<T>) {
      fits = s >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
             s <= static_cast<int64_t>(std::numeric_limits<T>::max());
    } else {
      fits = s >= 0 && static_cast<uint64_t>(s) <= static_cast<uint64_t>(std::numeric_limits<T>::max());
    }
    if (fits) dst[index] = static_cast<T>(s);
  }
  if (!fits) return BadValue(name, index, v, "an integer in the datatype's range");
  return Status::Ok();
}

template <typename T>
Status FillIntegers(const json& data, Tensor& t, const std::string& name) {
  T* dst = t.data<T>();
  int64_t i = 0;
  return ForEachLeaf(data, i, [&](const json& v, int64_t at) { return StoreInteger<T>(v, dst, name, at); });
}

// Floating types store through `convert` (identity for FP32/FP64, rounding for FP16/BF16).
template <typename T, typename Convert>
Status FillFloats(const json& data, Tensor& t, const std::string& name, Convert convert) {
  T* dst = t.data<T>();
  int64_t i = 0;
  return ForEachLeaf(data, i, [&](const json& v, int64_t at) {
    if (!v.is_number()) return BadValue(name, at, v, "a number");
    dst[at] = convert(v.get<double>());
    return Status::Ok();
  });
}

// float8/float4e2m1 from numbers (nearest code, saturating); INT4/UINT4 from integers in their range.
Status FillLowPrecision(const json& data, Tensor& t, const std::string& name) {
  uint8_t* dst = t.data<uint8_t>();
  const DType dtype = t.dtype();
  int64_t i = 0;
  return ForEachLeaf(data, i, [&](const json& v, int64_t at) {
    if (IsMiniFloat(dtype)) {
      if (!v.is_number()) return BadValue(name, at, v, "a number");
      dst[at] = DoubleToLowPrecision(dtype, v.get<double>(), /*saturate=*/true);
      return Status::Ok();
    }
    const int64_t lo = dtype == DType::kInt4 ? -8 : 0, hi = dtype == DType::kInt4 ? 7 : 15;
    if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > 15) ||
        (!v.is_number_unsigned() && (v.get<int64_t>() < lo || v.get<int64_t>() > hi))) {
      return BadValue(name, at, v, dtype == DType::kInt4 ? "an integer in [-8, 7]" : "an integer in [0, 15]");
    }
    dst[at] = DoubleToLowPrecision(dtype, static_cast<double>(v.get<int64_t>()));
    return Status::Ok();
  });
}

Status FillData(const json& data, Tensor& t, const std::string& name) {
  switch (t.dtype()) {
    case DType::kFloat32: return FillFloats<float>(data, t, name, [](double d) { return static_cast<float>(d); });
    case DType::kFloat64: return FillFloats<double>(data, t, name, [](double d) { return d; });
    case DType::kFloat16:
      return FillFloats<uint16_t>(data, t, name, [](double d) { return FloatToHalf(static_cast<float>(d)); });
    case DType::kBFloat16:
      return FillFloats<uint16_t>(data, t, name, [](double d) { return FloatToBFloat16(static_cast<float>(d)); });
    case DType::kInt8: return FillIntegers<int8_t>(data, t, name);
    case DType::kInt16: return FillIntegers<int16_t>(data, t, name);
    case DType::kInt32: return FillIntegers<int32_t>(data, t, name);
    case DType::kInt64: return FillIntegers<int64_t>(data, t, name);
    case DType::kUInt8: return FillIntegers<uint8_t>(data, t, name);
    case DType::kUInt16: return FillIntegers<uint16_t>(data, t, name);
    case DType::kUInt32: return FillIntegers<uint32_t>(data, t, name);
    case DType::kUInt64: return FillIntegers<uint64_t>(data, t, name);
    case DType::kBool: {
      bool* dst = t.data<bool>();
      int64_t i = 0;
      return ForEachLeaf(data, i, [&](const json& v, int64_t at) {
        if (!v.is_boolean()) return BadValue(name, at, v, "true or false");
        dst[at] = v.get<bool>();
        return Status::Ok();
      });
    }
    case DType::kString: {
      std::string* dst = t.data<std::string>();
      int64_t i = 0;
      return ForEachLeaf(data, i, [&](const json& v, int64_t at) {
        if (!v.is_string()) return BadValue(name, at, v, "a string");
        dst[at] = v.get<std::string>();
        return Status::Ok();
      });
    }
    default:
      if (IsLowPrecision(t.dtype())) return FillLowPrecision(data, t, name);
      return InvalidArgument(Where(name) + "datatype " + DTypeName(t.dtype()) + " cannot travel as JSON");
  }
}

template <typename T, typename Convert>
json FlatArray(const Tensor& t, Convert convert) {
  json out = json::array();
  const T* src = t.data<T>();
  const int64_t n = t.element_count();
  out.get_ref<json::array_t&>().reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out.push_back(convert(src[i]));
  return out;
}

template <typename T>
json FlatArray(const Tensor& t) {
  return FlatArray<T>(t, [](T v) { return v; });
}

Status CheckShape(const Shape& shape, const std::string& name) {
  if (ShapeElementCount(shape) < 0) {
    return InvalidArgument(Where(name) + "shape " + ShapeToString(shape) + " has a negative dim or is too large");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<Tensor> TensorFromJsonData(const json& data, DType dtype, const Shape& shape, const std::string& name) {
  TS_RETURN_IF_ERROR(CheckShape(shape, name));
  if (!data.is_array()) return InvalidArgument(Where(name) + "'data' must be an array");
  const int64_t leaves = CountLeaves(data, 0);
  if (leaves < 0) return InvalidArgument(Where(name) + "'data' nests deeper than " + std::to_string(kMaxDataDepth));
  const int64_t expected = ShapeElementCount(shape);
  if (leaves != expected) {
    return InvalidArgument(Where(name) + "'data' has " + std::to_string(leaves) + " values but shape " +
                           ShapeToString(shape) + " needs " + std::to_string(expected));
  }
  TS_ASSIGN_OR_RETURN(Tensor t, Tensor::AllocateUninitialized(dtype, shape));
  TS_RETURN_IF_ERROR(FillData(data, t, name));
  return t;
}

json TensorToJsonData(const Tensor& t) {
  switch (t.dtype()) {
    case DType::kFloat32: return FlatArray<float>(t);
    case DType::kFloat64: return FlatArray<double>(t);
    case DType::kFloat16: return FlatArray<uint16_t>(t, [](uint16_t h) { return HalfToFloat(h); });
    case DType::kBFloat16: return FlatArray<uint16_t>(t, [](uint16_t b) { return BFloat16ToFloat(b); });
    case DType::kInt8: return FlatArray<int8_t>(t);
    case DType::kInt16: return FlatArray<int16_t>(t);
    case DType::kInt32: return FlatArray<int32_t>(t);
    case DType::kInt64: return FlatArray<int64_t>(t);
    case DType::kUInt8: return FlatArray<uint8_t>(t);
    case DType::kUInt16: return FlatArray<uint16_t>(t);
    case DType::kUInt32: return FlatArray<uint32_t>(t);
    case DType::kUInt64: return FlatArray<uint64_t>(t);
    case DType::kBool: return FlatArray<bool>(t);
    case DType::kString: return FlatArray<std::string>(t);
    default:
      if (IsLowPrecision(t.dtype())) {
        const DType dtype = t.dtype();
        return FlatArray<uint8_t>(t, [dtype](uint8_t code) { return LowPrecisionToDouble(dtype, code); });
      }
      return json::array();  // no tensor of another dtype reaches a response (see KServeDatatype)
  }
}

StatusOr<Tensor> TensorFromBinary(std::string_view bytes, DType dtype, const Shape& shape, const std::string& name) {
  TS_RETURN_IF_ERROR(CheckShape(shape, name));
  const int64_t count = ShapeElementCount(shape);
  if (dtype != DType::kString) {
    bool size_ok = false;
    const size_t need = WireByteSize(dtype, count, &size_ok);
    if (!size_ok) return InvalidArgument(Where(name) + "shape " + ShapeToString(shape) + " is too large");
    if (bytes.size() != need) {
      return InvalidArgument(Where(name) + "binary data has " + std::to_string(bytes.size()) + " bytes but " +
                             KServeDatatype(dtype) + " " + ShapeToString(shape) + " needs " + std::to_string(need));
    }
    TS_ASSIGN_OR_RETURN(Tensor t, Tensor::AllocateUninitialized(dtype, shape));
    // The wire is little-endian, like the host; 4-bit types arrive packed two per byte.
    TS_RETURN_IF_ERROR(ReadWireBytes(bytes, t, Where(name) + "binary data"));
    if (dtype == DType::kBool) {
      uint8_t* b = t.data<uint8_t>();
      for (size_t i = 0; i < need; ++i) b[i] = b[i] != 0;  // a bool holding 2 is undefined behaviour
    }
    return t;
  }
  // BYTES: count the elements first, so a huge shape with a short body allocates nothing.
  size_t at = 0;
  int64_t elements = 0;
  while (at < bytes.size()) {
    if (bytes.size() - at < 4) return InvalidArgument(Where(name) + "binary BYTES data ends inside a length prefix");
    uint32_t len;
    std::memcpy(&len, bytes.data() + at, 4);
    at += 4;
    if (bytes.size() - at < len) return InvalidArgument(Where(name) + "binary BYTES element runs past the data");
    at += len;
    ++elements;
  }
  if (elements != count) {
    return InvalidArgument(Where(name) + "binary data holds " + std::to_string(elements) +
                           " BYTES elements but shape " + ShapeToString(shape) + " needs " + std::to_string(count));
  }
  TS_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(dtype, shape));
  std::string* dst = t.data<std::string>();
  at = 0;
  for (int64_t i = 0; i < count; ++i) {
    uint32_t len;
    std::memcpy(&len, bytes.data() + at, 4);
    dst[i].assign(bytes.data() + at + 4, len);
    at += 4 + len;
  }
  return t;
}

size_t AppendTensorBinary(const Tensor& t, std::string& out) {
  const size_t before = out.size();
  if (t.dtype() == DType::kString) {
    const std::string* src = t.data<std::string>();
    for (int64_t i = 0; i < t.element_count(); ++i) {
      const uint32_t len = static_cast<uint32_t>(src[i].size());
      out.append(reinterpret_cast<const char*>(&len), 4);
      out.append(src[i]);
    }
  } else {
    AppendWireBytes(t, out);
  }
  return out.size() - before;
}

}  // namespace tessera::serve::http
