// Model files out: inline when small, one external data file when large (see model_writer.h).
#include "compress/model_writer.h"

#include <filesystem>
#include <fstream>

#include "model/external_data.h"
#include "model/tensor_proto.h"

namespace tessera::compress {
namespace {

constexpr int64_t kExternalMinBytes = 1024;

bool IsExternal(const onnx::TensorProto& t) { return t.data_location() == onnx::TensorProto::EXTERNAL; }

int64_t ExternalLength(const onnx::TensorProto& t) {
  for (const auto& kv : t.external_data()) {
    if (kv.key() == "length") return std::atoll(kv.value().c_str());
  }
  return 0;
}

// Drops every data field of the tensor (typed, raw, external), keeping its name, dtype and dims.
void ClearData(onnx::TensorProto& t) {
  const std::string name = t.name();
  const int dtype = t.data_type();
  std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
  t.Clear();
  t.set_name(name);
  t.set_data_type(dtype);
  for (int64_t d : dims) t.add_dims(d);
}

}  // namespace

int64_t InitializerBytes(const onnx::ModelProto& model) {
  int64_t total = 0;
  for (const auto& t : model.graph().initializer()) {
    total += IsExternal(t) ? ExternalLength(t) : static_cast<int64_t>(t.ByteSizeLong());
  }
  return total;
}

Status WriteModelFile(onnx::ModelProto& model, const std::string& model_dir, const std::string& out_path,
                      int64_t inline_limit_bytes) {
  namespace fs = std::filesystem;
  ExternalDataResolver resolver(model_dir);
  const bool go_external = InitializerBytes(model) > inline_limit_bytes;
  const std::string data_name = fs::path(out_path).filename().string() + ".data";
  std::ofstream data;
  int64_t offset = 0;
  if (go_external) {
    const fs::path data_path = fs::path(out_path).parent_path() / data_name;
    // Truncating a file the input's weights are mapped from would corrupt what is being read.
    std::error_code ec;
    for (const auto& t : model.graph().initializer()) {
      for (const auto& kv : t.external_data()) {
        if (kv.key() == "location" && fs::equivalent(fs::path(model_dir) / kv.value(), data_path, ec)) {
          return InvalidArgument("cannot write external data to '" + data_path.string() +
                                 "': the input model reads its weights from it; choose another output name");
        }
      }
    }
    data.open(data_path, std::ios::binary | std::ios::trunc);
    if (!data) return IoError("cannot write external data file '" + data_path.string() + "'");
  }
  for (auto& t : *model.mutable_graph()->mutable_initializer()) {
    if (t.data_type() == onnx::TensorProto::STRING) continue;
    const bool external_here =
        go_external &&
        (IsExternal(t) ? ExternalLength(t) : static_cast<int64_t>(t.ByteSizeLong())) >= kExternalMinBytes;
    if (!IsExternal(t) && !external_here) continue;  // inline stays inline
    onnx::TensorProto copy = t;
    TS_ASSIGN_OR_RETURN(Tensor value, TakeTensorFromProto(copy, &resolver));
    if (!external_here) {
      ClearData(t);
      t.set_raw_data(std::string(static_cast<const char*>(value.raw_data()), value.byte_size()));
      continue;
    }
    const int64_t padding = (64 - offset % 64) % 64;
    data << std::string(static_cast<size_t>(padding), '\0');
    offset += padding;
    data.write(static_cast<const char*>(value.raw_data()), static_cast<std::streamsize>(value.byte_size()));
    ClearData(t);
    t.set_data_location(onnx::TensorProto::EXTERNAL);
    auto add = [&](const char* key, const std::string& v) {
      auto* kv = t.add_external_data();
      kv->set_key(key);
      kv->set_value(v);
    };
    add("location", data_name);
    add("offset", std::to_string(offset));
    add("length", std::to_string(value.byte_size()));
    offset += static_cast<int64_t>(value.byte_size());
  }
  if (go_external && !data) return IoError("writing external data for '" + out_path + "' failed");
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  if (!out) return IoError("cannot write '" + out_path + "'");
  if (!model.SerializeToOstream(&out)) return IoError("writing '" + out_path + "' failed (is the model over 2 GiB?)");
  return Status::Ok();
}

}  // namespace tessera::compress
