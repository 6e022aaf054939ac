// SequenceProto / OptionalProto / MapProto -> Value, for test data files (the ONNX node tests store
// sequence and optional inputs and outputs as these, beside TensorProto files for tensors).
#pragma once

#include <string>

#include <onnx/onnx-data_pb.h>

#include "tessera/value.h"

namespace tessera {

// A sequence of tensors (or of maps); an empty one takes no dtype from the file, so kUndefined unless
// `declared_dtype` says (the model's declared element type).
StatusOr<Value> ValueFromSequenceProto(const onnx::SequenceProto& proto, DType declared_dtype);
// The optional's element, or the none Value when it holds nothing.
StatusOr<Value> ValueFromOptionalProto(const onnx::OptionalProto& proto, DType declared_dtype);
// keys and values as two 1-D tensors.
StatusOr<Value> ValueFromMapProto(const onnx::MapProto& proto);

// Reads a serialized proto file holding a value of `kind` (optional when `optional`): TensorProto,
// SequenceProto, MapProto or OptionalProto.
StatusOr<Value> ReadValueProtoFile(const std::string& path, Value::Kind kind, bool optional, DType declared_dtype);

}  // namespace tessera
