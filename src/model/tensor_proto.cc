// TensorProto decoding: raw bytes, typed repeated fields, and external files.
#include "model/tensor_proto.h"

#include "core/low_precision.h"
#include "core/resident_pages.h"

#include <cstring>
#include <fstream>
#include <vector>
#include <sstream>

namespace tessera {

namespace {

Status SizeMismatch(const onnx::TensorProto& proto, size_t have, size_t want, const char* field) {
  return InvalidArgument("tensor '" + proto.name() + "': " + field + " holds " + std::to_string(have) +
                         " values but its dims need " + std::to_string(want));
}

// Copies a typed repeated field into `out`, converting each element with `convert`.
template <typename Dst, typename Field, typename Convert>
Status CopyField(const onnx::TensorProto& proto, const Field& field, size_t count, Tensor& out, const char* name,
                 Convert convert) {
  if (static_cast<size_t>(field.size()) != count) return SizeMismatch(proto, field.size(), count, name);
  Dst* dst = out.data<Dst>();
  for (size_t i = 0; i < count; ++i) dst[i] = convert(field.Get(static_cast<int>(i)));
  return Status::Ok();
}

template <typename Dst, typename Field>
Status CopyField(const onnx::TensorProto& proto, const Field& field, size_t count, Tensor& out, const char* name) {
  return CopyField<Dst>(proto, field, count, out, name, [](auto v) { return static_cast<Dst>(v); });
}

// How many values the typed field that holds `dtype` carries (before anything is allocated: a proto
// claiming huge dims with a handful of values must fail fast, not after zero-filling gigabytes).
int64_t TypedFieldSize(const onnx::TensorProto& proto, DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return proto.float_data_size();
    case DType::kFloat64: return proto.double_data_size();
    case DType::kInt64: return proto.int64_data_size();
    case DType::kUInt64:
    case DType::kUInt32: return proto.uint64_data_size();
    case DType::kString: return proto.string_data_size();
    default: return proto.int32_data_size();
  }
}

Status FillFromTypedFields(const onnx::TensorProto& proto, DType dtype, size_t count, Tensor& out) {
  switch (dtype) {
    case DType::kFloat32: return CopyField<float>(proto, proto.float_data(), count, out, "float_data");
    case DType::kFloat64: return CopyField<double>(proto, proto.double_data(), count, out, "double_data");
    case DType::kInt64: return CopyField<int64_t>(proto, proto.int64_data(), count, out, "int64_data");
    case DType::kUInt64: return CopyField<uint64_t>(proto, proto.uint64_data(), count, out, "uint64_data");
    case DType::kUInt32: return CopyField<uint32_t>(proto, proto.uint64_data(), count, out, "uint64_data");
    case DType::kInt32: return CopyField<int32_t>(proto, proto.int32_data(), count, out, "int32_data");
    case DType::kInt16: return CopyField<int16_t>(proto, proto.int32_data(), count, out, "int32_data");
    case DType::kUInt16: return CopyField<uint16_t>(proto, proto.int32_data(), count, out, "int32_data");
    case DType::kInt8: return CopyField<int8_t>(proto, proto.int32_data(), count, out, "int32_data");
    case DType::kUInt8: return CopyField<uint8_t>(proto, proto.int32_data(), count, out, "int32_data");
    case DType::kBool: return CopyField<bool>(proto, proto.int32_data(), count, out, "int32_data");
    // float16 and bfloat16 keep their bit patterns in the low 16 bits of int32_data.
    case DType::kFloat16:
    case DType::kBFloat16: return CopyField<uint16_t>(proto, proto.int32_data(), count, out, "int32_data");
    // float8 values keep their bit patterns in the low 8 bits of int32_data, one per value.
    case DType::kFloat8E4M3FN:
    case DType::kFloat8E4M3FNUZ:
    case DType::kFloat8E5M2:
    case DType::kFloat8E5M2FNUZ:
    case DType::kFloat8E8M0: return CopyField<uint8_t>(proto, proto.int32_data(), count, out, "int32_data");
    // The 4-bit types: each int32_data value holds one packed byte (two elements, low nibble first).
    case DType::kInt4:
    case DType::kUInt4:
    case DType::kFloat4E2M1: {
      const size_t packed_count = PackedByteSize(dtype, count);
      if (static_cast<size_t>(proto.int32_data_size()) != packed_count) {
        return SizeMismatch(proto, proto.int32_data_size(), packed_count, "int32_data (packed bytes)");
      }
      std::vector<uint8_t> packed(packed_count);
      for (size_t i = 0; i < packed_count; ++i) packed[i] = static_cast<uint8_t>(proto.int32_data(static_cast<int>(i)));
      UnpackNibbles(packed.data(), count, out.data<uint8_t>());
      return Status::Ok();
    }
    case DType::kString:
      return CopyField<std::string>(proto, proto.string_data(), count, out, "string_data",
                                    [](const std::string& s) { return s; });
    case DType::kUndefined: break;
  }
  return InvalidArgument("tensor '" + proto.name() + "' has an unsupported dtype");
}

// What a tensor viewing a mapped file keeps alive: the mapping, and for its own range the resident pages,
// dropped when the last user of the view is gone (a weight a rank sliced, copied or packed and let go of
// would otherwise stay resident for as long as any other weight of the file is used).
struct FileView {
  std::shared_ptr<MappedFile> file;
  const char* data = nullptr;
  size_t bytes = 0;
  ~FileView() { DropResidentPages(data, bytes); }
};

std::shared_ptr<void> ViewOfFile(std::shared_ptr<MappedFile> file, const char* data, size_t bytes) {
  auto view = std::make_shared<FileView>();
  view->file = std::move(file);
  view->data = data;
  view->bytes = bytes;
  return view;
}

StatusOr<Tensor> FromExternal(const onnx::TensorProto& proto, DType dtype, Shape shape, size_t bytes,
                              ExternalDataResolver* resolver) {
  if (resolver == nullptr) return InvalidArgument("tensor '" + proto.name() + "' uses external data here");
  std::string location;
  uint64_t offset = 0;
  int64_t length = -1;
  for (const auto& entry : proto.external_data()) {
    try {
      if (entry.key() == "location") location = entry.value();
      if (entry.key() == "offset") offset = std::stoull(entry.value());
      if (entry.key() == "length") length = std::stoll(entry.value());
    } catch (const std::exception&) {
      return InvalidArgument("tensor '" + proto.name() + "': external data " + entry.key() + " '" + entry.value() +
                             "' is not a number");
    }
  }
  TS_ASSIGN_OR_RETURN(auto file, resolver->Map(location));
  if (length >= 0 && static_cast<uint64_t>(length) != bytes) {
    return InvalidArgument("tensor '" + proto.name() + "': external data length " + std::to_string(length) +
                           " does not match its dims (" + std::to_string(bytes) + " bytes)");
  }
  if (offset > file->size() || file->size() - offset < bytes) {
    return InvalidArgument("tensor '" + proto.name() + "': external file '" + location + "' is shorter than offset " +
                           std::to_string(offset) + " + " + std::to_string(bytes) + " bytes");
  }
  const char* p = file->data() + offset;
  if (IsPackedFourBit(dtype)) {
    TS_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(dtype, std::move(shape)));
    UnpackNibbles(reinterpret_cast<const uint8_t*>(p), static_cast<size_t>(t.element_count()), t.data<uint8_t>());
    return t;
  }
  if (reinterpret_cast<uintptr_t>(p) % DTypeSize(dtype) == 0 || (resolver->keep_unaligned_views() && bytes >= 4096)) {
    return Tensor(dtype, std::move(shape), Buffer::Wrap(const_cast<char*>(p), bytes, ViewOfFile(file, p, bytes)));
  }
  TS_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(dtype, std::move(shape)));
  std::memcpy(t.raw_data(), p, bytes);
  return t;
}

}  // namespace

StatusOr<Tensor> TakeTensorFromProto(onnx::TensorProto& proto, ExternalDataResolver* resolver) {
  if (!IsKnownDType(proto.data_type())) {
    return InvalidArgument("tensor '" + proto.name() + "' has unknown data_type " + std::to_string(proto.data_type()));
  }
  DType dtype = static_cast<DType>(proto.data_type());
  Shape shape(proto.dims().begin(), proto.dims().end());
  int64_t count = ShapeElementCount(shape);
  if (count < 0) return InvalidArgument("tensor '" + proto.name() + "' has invalid dims " + ShapeToString(shape));
  // What the file holds: the 4-bit types are packed two per byte there (and unpacked in the Tensor).
  size_t bytes = PackedByteSize(dtype, static_cast<size_t>(count));

  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    if (dtype == DType::kString) return InvalidArgument("tensor '" + proto.name() + "': external string data");
    return FromExternal(proto, dtype, std::move(shape), bytes, resolver);
  }
  if (proto.has_raw_data() && dtype != DType::kString) {
    const std::string& raw = proto.raw_data();
    if (raw.size() != bytes) {
      return InvalidArgument("tensor '" + proto.name() + "': raw_data has " + std::to_string(raw.size()) +
                             " bytes but dims " + ShapeToString(shape) + " of " + DTypeName(dtype) + " need " +
                             std::to_string(bytes));
    }
    // Large, aligned weights keep the string the parser filled (no copy); the rest are copied into
    // aligned memory. Either way the proto lets go of its bytes here, not when the whole model is done.
    auto taken = std::make_shared<std::string>();
    taken->swap(*proto.mutable_raw_data());
    proto.clear_raw_data();
    if (IsPackedFourBit(dtype)) {
      TS_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(dtype, std::move(shape)));
      UnpackNibbles(reinterpret_cast<const uint8_t*>(taken->data()), static_cast<size_t>(count), t.data<uint8_t>());
      return t;
    }
    if (bytes >= 4096 && reinterpret_cast<uintptr_t>(taken->data()) % 64 == 0) {
      char* data = taken->data();
      return Tensor(dtype, std::move(shape), Buffer::Wrap(data, bytes, std::move(taken)));
    }
    if (bytes >= kWeightPagesMinBytes) {
      auto pages = AllocateWeightPages(dtype, shape);
      if (!pages.ok()) return pages.status().WithContext("tensor '" + proto.name() + "'");
      Tensor t = std::move(pages).value();
      std::memcpy(t.raw_data(), taken->data(), bytes);
      return t;
    }
    TS_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(dtype, std::move(shape)));
    if (bytes > 0) std::memcpy(t.raw_data(), taken->data(), bytes);
    return t;
  }
  const int64_t typed_count = IsPackedFourBit(dtype) ? static_cast<int64_t>(bytes) : count;
  if (TypedFieldSize(proto, dtype) != typed_count) {
    return InvalidArgument("tensor '" + proto.name() + "' has " + std::to_string(TypedFieldSize(proto, dtype)) +
                           " values but dims " + ShapeToString(shape) + " need " + std::to_string(typed_count));
  }
  TS_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(dtype, std::move(shape)));
  TS_RETURN_IF_ERROR(FillFromTypedFields(proto, dtype, static_cast<size_t>(count), t));
  return t;
}

StatusOr<Tensor> ReadTensorProtoFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("cannot open '" + path + "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  onnx::TensorProto proto;
  if (!proto.ParseFromString(buffer.str())) return InvalidArgument("'" + path + "' is not a TensorProto");
  return TakeTensorFromProto(proto, nullptr);
}

}  // namespace tessera
