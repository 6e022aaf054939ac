// Tensors in and out of the gRPC messages (framing described in grpc_tensor_codec.h).
#include "serve/grpc/grpc_tensor_codec.h"

#include <bit>
#include <cstdint>
#include <cstring>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "core/low_precision.h"
#include "serve/kserve_datatype.h"
#include "serve/low_precision_wire.h"

namespace tessera::serve {

// The protocol defines raw contents as little-endian; they are copied with memcpy, which is only right on a
// little-endian host.
static_assert(std::endian::native == std::endian::little, "raw tensor contents assume a little-endian host");

namespace {

using inference::InferTensorContents;
using InputTensor = inference::ModelInferRequest::InferInputTensor;

std::string Where(const InputTensor& in, const Shape& shape) {
  return "input '" + in.name() + "' (" + in.datatype() + " " + ShapeToString(shape) + ")";
}

int64_t ContentsCount(const InferTensorContents& c) {
  return int64_t{c.bool_contents_size()} + c.int_contents_size() + c.int64_contents_size() + c.uint_contents_size() +
         c.uint64_contents_size() + c.fp32_contents_size() + c.fp64_contents_size() + c.bytes_contents_size();
}

// The typed field that carries `dtype`'s elements and how many it holds; nullptr name when none does.
std::pair<const char*, int64_t> TypedField(const InferTensorContents& c, DType dtype) {
  switch (dtype) {
    case DType::kBool:
      return {"bool_contents", c.bool_contents_size()};
    case DType::kInt8:
    case DType::kInt16:
    case DType::kInt32:
      return {"int_contents", c.int_contents_size()};
    case DType::kInt64:
      return {"int64_contents", c.int64_contents_size()};
    case DType::kUInt8:
    case DType::kUInt16:
    case DType::kUInt32:
      return {"uint_contents", c.uint_contents_size()};
    case DType::kUInt64:
      return {"uint64_contents", c.uint64_contents_size()};
    case DType::kFloat32:
      return {"fp32_contents", c.fp32_contents_size()};
    case DType::kFloat64:
      return {"fp64_contents", c.fp64_contents_size()};
    case DType::kString:
      return {"bytes_contents", c.bytes_contents_size()};
    default:
      return {nullptr, 0};
  }
}

// Copies `src` into `t`, refusing a value that the narrower element type cannot hold (300 for INT8).
template <typename Dst, typename Src>
Status CopyTyped(const google::protobuf::RepeatedField<Src>& src, Tensor& t, const std::string& where) {
  Dst* dst = t.data<Dst>();
  for (int i = 0; i < src.size(); ++i) {
    const Src v = src.Get(i);
    if constexpr (std::is_integral_v<Dst> && !std::is_same_v<Dst, bool>) {
      if (!std::in_range<Dst>(v)) {
        return InvalidArgument(where + ": element " + std::to_string(i) + " = " + std::to_string(v) +
                               " is out of range for " + KServeDatatype(t.dtype()));
      }
    }
    dst[i] = static_cast<Dst>(v);
  }
  return Status::Ok();
}

StatusOr<Tensor> Allocate(DType dtype, const Shape& shape, const std::string& where) {
  auto t = Tensor::AllocateUninitialized(dtype, shape);
  if (!t.ok()) return t.status().WithContext(where);
  return std::move(t).value();
}

StatusOr<Tensor> DecodeTyped(const InputTensor& in, DType dtype, const Shape& shape, int64_t count) {
  const std::string where = Where(in, shape);
  const InferTensorContents& c = in.contents();
  auto [field, n] = TypedField(c, dtype);
  if (field == nullptr) {
    return InvalidArgument(where + ": " + in.datatype() +
                           " has no typed contents field; send it as raw_input_contents");
  }
  if (ContentsCount(c) != n) {
    return InvalidArgument(where + ": the elements of a " + in.datatype() + " tensor go in contents." + field +
                           ", but other contents fields hold values");
  }
  if (n != count) {
    return InvalidArgument(where + ": contents." + field + " holds " + std::to_string(n) +
                           " elements, the shape needs " + std::to_string(count));
  }
  if (dtype == DType::kString) {
    auto t = Tensor::Allocate(DType::kString, shape);  // strings must be constructed before assignment
    if (!t.ok()) return t.status().WithContext(where);
    std::string* dst = t->data<std::string>();
    for (int i = 0; i < c.bytes_contents_size(); ++i) dst[i] = c.bytes_contents(i);
    return std::move(t).value();
  }
  TS_ASSIGN_OR_RETURN(Tensor t, Allocate(dtype, shape, where));
  Status s;
  switch (dtype) {
    case DType::kBool:
      s = CopyTyped<bool>(c.bool_contents(), t, where);
      break;
    case DType::kInt8:
      s = CopyTyped<int8_t>(c.int_contents(), t, where);
      break;
    case DType::kInt16:
      s = CopyTyped<int16_t>(c.int_contents(), t, where);
      break;
    case DType::kInt32:
      s = CopyTyped<int32_t>(c.int_contents(), t, where);
      break;
    case DType::kInt64:
      s = CopyTyped<int64_t>(c.int64_contents(), t, where);
      break;
    case DType::kUInt8:
      s = CopyTyped<uint8_t>(c.uint_contents(), t, where);
      break;
    case DType::kUInt16:
      s = CopyTyped<uint16_t>(c.uint_contents(), t, where);
      break;
    case DType::kUInt32:
      s = CopyTyped<uint32_t>(c.uint_contents(), t, where);
      break;
    case DType::kUInt64:
      s = CopyTyped<uint64_t>(c.uint64_contents(), t, where);
      break;
    case DType::kFloat32:
      s = CopyTyped<float>(c.fp32_contents(), t, where);
      break;
    case DType::kFloat64:
      s = CopyTyped<double>(c.fp64_contents(), t, where);
      break;
    default:
      return Internal(where + ": no typed decoder for " + in.datatype());  // TypedField vetted dtype
  }
  TS_RETURN_IF_ERROR(s);
  return t;
}

// BYTES elements, each a 4-byte little-endian length and that many bytes, with nothing left over.
StatusOr<Tensor> DecodeRawStrings(const std::string& raw, const Shape& shape, int64_t count, const std::string& where) {
  std::vector<std::string_view> elements;
  size_t pos = 0;
  while (pos < raw.size()) {
    if (raw.size() - pos < 4) {
      return InvalidArgument(where + ": raw_input_contents ends inside the length prefix of element " +
                             std::to_string(elements.size()) + " (BYTES elements are a 4-byte length, then the bytes)");
    }
    uint32_t length = 0;
    std::memcpy(&length, raw.data() + pos, 4);
    pos += 4;
    if (length > raw.size() - pos) {
      return InvalidArgument(where + ": BYTES element " + std::to_string(elements.size()) + " claims " +
                             std::to_string(length) + " bytes but only " + std::to_string(raw.size() - pos) +
                             " remain");
    }
    elements.emplace_back(raw.data() + pos, length);
    pos += length;
  }
  if (static_cast<int64_t>(elements.size()) != count) {
    return InvalidArgument(where + ": raw_input_contents holds " + std::to_string(elements.size()) +
                           " BYTES elements, the shape needs " + std::to_string(count));
  }
  auto t = Tensor::Allocate(DType::kString, shape);
  if (!t.ok()) return t.status().WithContext(where);
  std::string* dst = t->data<std::string>();
  for (size_t i = 0; i < elements.size(); ++i) dst[i].assign(elements[i]);
  return std::move(t).value();
}

StatusOr<Tensor> DecodeRaw(const InputTensor& in, const std::string& raw, DType dtype, const Shape& shape,
                           int64_t count) {
  const std::string where = Where(in, shape);
  if (ContentsCount(in.contents()) > 0) {
    return InvalidArgument(where +
                           ": has typed contents while the request uses raw_input_contents; use one or the other");
  }
  if (dtype == DType::kString) return DecodeRawStrings(raw, shape, count, where);
  bool size_ok = false;
  const size_t need = WireByteSize(dtype, count, &size_ok);  // 4-bit types travel two per byte
  if (!size_ok || raw.size() != need) {
    return InvalidArgument(where + ": raw_input_contents holds " + std::to_string(raw.size()) +
                           " bytes, the shape needs " + std::to_string(count) + " elements of " +
                           in.datatype() + (size_ok ? " (" + std::to_string(need) + " bytes)" : ""));
  }
  TS_ASSIGN_OR_RETURN(Tensor t, Allocate(dtype, shape, where));
  if (IsPackedFourBit(dtype)) {
    TS_RETURN_IF_ERROR(ReadWireBytes(raw, t, where));
    return t;
  }
  if (dtype == DType::kBool) {
    // Any non-zero byte is true; copying the bytes as they are could store a bool that is neither.
    bool* dst = t.data<bool>();
    for (size_t i = 0; i < raw.size(); ++i) dst[i] = raw[i] != 0;
  } else if (!raw.empty()) {
    std::memcpy(t.raw_data(), raw.data(), raw.size());
  }
  return t;
}

}  // namespace

StatusOr<InferRequest> DecodeInferRequest(const inference::ModelInferRequest& request) {
  InferRequest out;
  out.model_name = request.model_name();
  out.model_version = request.model_version();
  out.id = request.id();
  if (out.model_name.empty()) return InvalidArgument("the request names no model (model_name is empty)");

  const bool raw = request.raw_input_contents_size() > 0;
  if (raw && request.raw_input_contents_size() != request.inputs_size()) {
    return InvalidArgument("raw_input_contents has " + std::to_string(request.raw_input_contents_size()) +
                           " entries for " + std::to_string(request.inputs_size()) +
                           " inputs; send one entry per input, in the order of inputs");
  }
  std::set<std::string> seen;
  for (int i = 0; i < request.inputs_size(); ++i) {
    const InputTensor& in = request.inputs(i);
    if (!seen.insert(in.name()).second) return InvalidArgument("input '" + in.name() + "' appears more than once");
    auto dtype = DTypeFromKServe(in.datatype());
    if (!dtype.ok()) return dtype.status().WithContext("input '" + in.name() + "'");
    Shape shape(in.shape().begin(), in.shape().end());
    for (int64_t d : shape) {
      if (d < 0) return InvalidArgument(Where(in, shape) + ": dimensions must not be negative");
    }
    const int64_t count = ShapeElementCount(shape);
    if (count < 0) return InvalidArgument(Where(in, shape) + ": the element count overflows");
    auto tensor = raw ? DecodeRaw(in, request.raw_input_contents(i), *dtype, shape, count)
                      : DecodeTyped(in, *dtype, shape, count);
    if (!tensor.ok()) return tensor.status();
    out.inputs.push_back({in.name(), std::move(tensor).value()});
  }
  for (const auto& requested : request.outputs()) {
    if (requested.name().empty()) return InvalidArgument("a requested output has no name");
    out.requested_outputs.push_back(requested.name());
  }
  return out;
}

Status EncodeInferResponse(const InferResponse& result, inference::ModelInferResponse* response) {
  response->set_model_name(result.model_name);
  response->set_model_version(result.model_version);
  response->set_id(result.id);
  for (const NamedTensor& output : result.outputs) {
    const Tensor& t = output.tensor;
    const std::string datatype = KServeDatatype(t.dtype());
    if (datatype.empty()) {
      return Internal("output '" + output.name + "' has dtype " + DTypeName(t.dtype()) +
                      ", which the inference protocol cannot carry");
    }
    auto* o = response->add_outputs();
    o->set_name(output.name);
    o->set_datatype(datatype);
    for (int64_t d : t.shape()) o->add_shape(d);
    std::string* raw = response->add_raw_output_contents();
    const int64_t count = t.element_count();
    if (count <= 0) continue;
    if (t.dtype() == DType::kString) {
      const std::string* src = t.data<std::string>();
      size_t total = 0;
      for (int64_t i = 0; i < count; ++i) total += 4 + src[i].size();
      raw->reserve(total);
      for (int64_t i = 0; i < count; ++i) {
        if (src[i].size() > UINT32_MAX) {
          return Internal("output '" + output.name + "': element " + std::to_string(i) + " exceeds 4 GiB");
        }
        const uint32_t length = static_cast<uint32_t>(src[i].size());
        raw->append(reinterpret_cast<const char*>(&length), 4);
        raw->append(src[i]);
      }
    } else if (t.dtype() == DType::kBool) {
      const bool* src = t.data<bool>();
      raw->resize(static_cast<size_t>(count));
      for (int64_t i = 0; i < count; ++i) (*raw)[static_cast<size_t>(i)] = src[i] ? 1 : 0;
    } else {
      AppendWireBytes(t, *raw);
    }
  }
  return Status::Ok();
}

}  // namespace tessera::serve
