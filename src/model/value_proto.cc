// Test data values that are not tensors: sequences, optionals and maps read from their protos.
#include "model/value_proto.h"

#include <fstream>
#include <sstream>

#include "model/tensor_proto.h"

namespace tessera {

namespace {

constexpr int kMaxNesting = 16;  // sequences of sequences in a file: bounded, the file is untrusted

StatusOr<Value> FromSequence(const onnx::SequenceProto& proto, DType declared_dtype, int depth);

StatusOr<Value> FromOptional(const onnx::OptionalProto& proto, DType declared_dtype, int depth) {
  if (depth > kMaxNesting) return InvalidArgument("values nested too deeply");
  switch (proto.elem_type()) {
    case onnx::OptionalProto::TENSOR: {
      onnx::TensorProto t = proto.tensor_value();
      TS_ASSIGN_OR_RETURN(Tensor tensor, TakeTensorFromProto(t, nullptr));
      return Value(std::move(tensor));
    }
    case onnx::OptionalProto::SEQUENCE: return FromSequence(proto.sequence_value(), declared_dtype, depth + 1);
    case onnx::OptionalProto::MAP: return ValueFromMapProto(proto.map_value());
    case onnx::OptionalProto::UNDEFINED: return Value();
    default:
      return Unimplemented("optional of element type " + std::to_string(proto.elem_type()) + " is not supported");
  }
}

StatusOr<Value> FromSequence(const onnx::SequenceProto& proto, DType declared_dtype, int depth) {
  if (depth > kMaxNesting) return InvalidArgument("values nested too deeply");
  std::vector<Value> elements;
  DType dtype = declared_dtype;
  switch (proto.elem_type()) {
    case onnx::SequenceProto::TENSOR:
      for (const auto& t : proto.tensor_values()) {
        onnx::TensorProto copy = t;
        TS_ASSIGN_OR_RETURN(Tensor tensor, TakeTensorFromProto(copy, nullptr));
        if (dtype == DType::kUndefined) dtype = tensor.dtype();
        if (tensor.dtype() != dtype) {
          return InvalidArgument("sequence element " + std::to_string(elements.size()) + " is " +
                                 DTypeName(tensor.dtype()) + ", the sequence holds " + DTypeName(dtype));
        }
        elements.emplace_back(std::move(tensor));
      }
      break;
    case onnx::SequenceProto::MAP:
      for (const auto& m : proto.map_values()) {
        TS_ASSIGN_OR_RETURN(Value map, ValueFromMapProto(m));
        if (dtype == DType::kUndefined) dtype = map.element_dtype();
        elements.push_back(std::move(map));
      }
      break;
    case onnx::SequenceProto::UNDEFINED: break;  // an empty sequence may leave it unset
    default:
      return Unimplemented("sequence of element type " + std::to_string(proto.elem_type()) + " is not supported");
  }
  return Value::Sequence(std::move(elements), dtype);
}

template <typename Proto>
StatusOr<Proto> ParseFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("cannot open '" + path + "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  Proto proto;
  if (!proto.ParseFromString(buffer.str())) return InvalidArgument("'" + path + "' is not " + what);
  return proto;
}

}  // namespace

StatusOr<Value> ValueFromSequenceProto(const onnx::SequenceProto& proto, DType declared_dtype) {
  return FromSequence(proto, declared_dtype, 0);
}

StatusOr<Value> ValueFromOptionalProto(const onnx::OptionalProto& proto, DType declared_dtype) {
  return FromOptional(proto, declared_dtype, 0);
}

StatusOr<Value> ValueFromMapProto(const onnx::MapProto& proto) {
  const auto key_type = static_cast<DType>(proto.key_type());
  Tensor keys;
  const bool string_keys = key_type == DType::kString;
  const int64_t n = string_keys ? proto.string_keys_size() : proto.keys_size();
  if (key_type == DType::kString) {
    keys = Tensor::FromVector<std::string>(DType::kString, {n},
                                           std::vector<std::string>(proto.string_keys().begin(),
                                                                    proto.string_keys().end()));
  } else if (key_type == DType::kInt64) {
    keys = Tensor::FromVector<int64_t>(DType::kInt64, {n},
                                       std::vector<int64_t>(proto.keys().begin(), proto.keys().end()));
  } else {
    return Unimplemented("map keys of type " + std::to_string(proto.key_type()) + " are not supported");
  }
  const auto& values = proto.values();
  if (values.elem_type() != onnx::SequenceProto::TENSOR || values.tensor_values_size() != 1) {
    return Unimplemented("map values must be one tensor");
  }
  onnx::TensorProto copy = values.tensor_values(0);
  TS_ASSIGN_OR_RETURN(Tensor tensor, TakeTensorFromProto(copy, nullptr));
  if (tensor.element_count() != n) {
    return InvalidArgument("map has " + std::to_string(n) + " keys but " + std::to_string(tensor.element_count()) +
                           " values");
  }
  return Value::Map(std::move(keys), tensor.Reshaped({n}));
}

StatusOr<Value> ReadValueProtoFile(const std::string& path, Value::Kind kind, bool optional, DType declared_dtype) {
  if (optional) {
    TS_ASSIGN_OR_RETURN(auto proto, ParseFile<onnx::OptionalProto>(path, "an OptionalProto"));
    return ValueFromOptionalProto(proto, declared_dtype);
  }
  switch (kind) {
    case Value::Kind::kSequence: {
      TS_ASSIGN_OR_RETURN(auto proto, ParseFile<onnx::SequenceProto>(path, "a SequenceProto"));
      return ValueFromSequenceProto(proto, declared_dtype);
    }
    case Value::Kind::kMap: {
      TS_ASSIGN_OR_RETURN(auto proto, ParseFile<onnx::MapProto>(path, "a MapProto"));
      return ValueFromMapProto(proto);
    }
    default: {
      TS_ASSIGN_OR_RETURN(Tensor t, ReadTensorProtoFile(path));
      return Value(std::move(t));
    }
  }
}

}  // namespace tessera
