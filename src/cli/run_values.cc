// `tessera run` with sequence, map and optional values: their file layout (run_values.h) in both directions.
#include "cli/run_values.h"

#include <filesystem>
#include <iostream>

#include "cli/command_line.h"
#include "core/npy.h"

namespace tessera::cli {

namespace {

namespace fs = std::filesystem;

StatusOr<Tensor> ReadTensorFile(const std::string& path, DType declared, const std::string& what) {
  auto tensor = ReadNpy(path);
  if (!tensor.ok()) return tensor.status().WithContext(what);
  return ConvertNpyToDeclared(std::move(tensor).value(), declared, what);
}

// DIR/0.npy, DIR/1.npy, ... up to the first number missing; any other .npy file in DIR is an error (a
// misnamed element would otherwise be dropped without a word).
StatusOr<Value> ReadSequenceFolder(const std::string& dir, const TensorInfo& info) {
  if (!fs::is_directory(dir)) {
    return InvalidArgument("input '" + info.name + "' is a sequence: give a folder of 0.npy, 1.npy, ..., not '" +
                           dir + "'");
  }
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.path().extension() == ".npy" ? 1 : 0;
  std::vector<Value> elements;
  while (fs::exists(fs::path(dir) / (std::to_string(elements.size()) + ".npy"))) {
    const std::string path = (fs::path(dir) / (std::to_string(elements.size()) + ".npy")).string();
    const std::string what = "input '" + info.name + "' element " + std::to_string(elements.size());
    TS_ASSIGN_OR_RETURN(Tensor t, ReadTensorFile(path, info.dtype, what));
    elements.emplace_back(std::move(t));
  }
  if (elements.size() != files) {
    return InvalidArgument("input '" + info.name + "': folder '" + dir + "' holds " + std::to_string(files) +
                           " .npy files, of which only the first " + std::to_string(elements.size()) +
                           " are numbered 0.npy, 1.npy, ... without a gap (elements are numbered from 0)");
  }
  return Value::Sequence(std::move(elements), info.dtype);
}

StatusOr<Value> ReadInputValue(const std::string& path, const TensorInfo& info) {
  switch (info.kind) {
    case Value::Kind::kSequence: return ReadSequenceFolder(path, info);
    case Value::Kind::kMap:
      return Unimplemented("input '" + info.name + "' is a map; `tessera run` reads tensors and sequences");
    default: {
      TS_ASSIGN_OR_RETURN(Tensor t, ReadTensorFile(path, info.dtype, "input '" + info.name + "'"));
      return Value(std::move(t));
    }
  }
}

// Writes `value` as `base` (.npy for a tensor, base/ for a sequence, base.keys/.values.npy for a map).
Status WriteValue(const fs::path& base, const Value& value) {
  switch (value.kind()) {
    case Value::Kind::kNone: return Status::Ok();
    case Value::Kind::kTensor: return WriteNpy(base.string() + ".npy", value.tensor());
    case Value::Kind::kMap:
      TS_RETURN_IF_ERROR(WriteNpy(base.string() + ".keys.npy", value.map_keys()));
      return WriteNpy(base.string() + ".values.npy", value.map_values());
    case Value::Kind::kSequence: {
      std::error_code ec;
      fs::create_directories(base, ec);
      if (ec) return IoError("cannot create folder '" + base.string() + "': " + ec.message());
      for (size_t i = 0; i < value.sequence_length(); ++i) {
        TS_RETURN_IF_ERROR(WriteValue(base / std::to_string(i), value.elements()[i]));
      }
      return Status::Ok();
    }
  }
  return Status::Ok();
}

}  // namespace

bool HasNonTensorValues(const Session& session) {
  for (const auto* infos : {&session.inputs(), &session.outputs()}) {
    for (const TensorInfo& info : *infos) {
      if (info.kind != Value::Kind::kTensor || info.optional) return true;
    }
  }
  return false;
}

Status RunValuesAndWrite(Session& session, const std::vector<std::pair<std::string, std::string>>& inputs,
                         const std::string& output_dir, int64_t repeat, bool quiet) {
  std::vector<std::pair<std::string, Value>> feeds;
  std::vector<bool> given(session.inputs().size(), false);
  for (const auto& [name, path] : inputs) {
    size_t k = 0;
    while (k < session.inputs().size() && session.inputs()[k].name != name &&
           SanitizeName(session.inputs()[k].name) != SanitizeName(name)) {
      ++k;
    }
    if (k == session.inputs().size()) {
      return InvalidArgument("model '" + session.model_name() + "' has no input '" + name + "'");
    }
    TS_ASSIGN_OR_RETURN(Value v, ReadInputValue(path, session.inputs()[k]));
    feeds.emplace_back(session.inputs()[k].name, std::move(v));
    given[k] = true;
  }
  for (size_t k = 0; k < given.size(); ++k) {
    if (!given[k] && session.inputs()[k].optional) feeds.emplace_back(session.inputs()[k].name, Value());
  }
  StatusOr<std::vector<Value>> outputs = std::vector<Value>{};
  for (int64_t i = 0; i < repeat; ++i) {
    outputs = session.RunValues(feeds);
    if (!outputs.ok()) return outputs.status();
  }
  std::error_code ec;
  fs::create_directories(output_dir, ec);
  if (ec) return IoError("cannot create output folder '" + output_dir + "': " + ec.message());
  for (size_t i = 0; i < outputs->size(); ++i) {
    const std::string& name = session.outputs()[i].name;
    const fs::path base = fs::path(output_dir) / SanitizeName(name);
    TS_RETURN_IF_ERROR(WriteValue(base, (*outputs)[i]));
    if (quiet) continue;
    const Value& v = (*outputs)[i];
    const std::string where = v.is_tensor() ? base.string() + ".npy"
                              : v.is_map()  ? base.string() + ".{keys,values}.npy"
                              : v.is_none() ? std::string("(no file)")
                                            : base.string() + "/";
    std::cout << name << ": " << v.Describe() << " -> " << where << "\n";
  }
  std::cout << "ran '" << session.model_name() << "'\n";
  return Status::Ok();
}

}  // namespace tessera::cli
