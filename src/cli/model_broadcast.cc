// SharedModelFiles: the file list on rank 0, then per file its name, its size and its bytes in pieces.
#include "cli/model_broadcast.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <vector>

#include "model/external_data.h"
#include "model/inline_weights.h"
#include "parallel/comm/agreement.h"

namespace tessera::cli {

namespace {

namespace fs = std::filesystem;

constexpr size_t kPieceBytes = size_t{64} << 20;

struct SourceFile {
  std::string name;  // relative to the model's folder
  std::shared_ptr<MappedFile> data;
};

// Rank 0: the model file and every external data file its main graph names, mapped.
StatusOr<std::vector<SourceFile>> ListModelFiles(const std::string& model_path) {
  const std::string name = fs::path(model_path).filename().string();
  std::string dir = fs::path(model_path).parent_path().string();
  if (dir.empty()) dir = ".";
  auto model = MappedFile::Open(model_path);
  if (!model.ok()) return model.status().WithContext("model '" + name + "'");
  onnx::ModelProto proto;
  InlineWeightStats stats;
  if (!ParseModelLeavingWeightsInFile(**model, name, proto, stats)) {
    return InvalidArgument("model '" + name + "': not an ONNX model (protobuf parse failed; truncated or corrupt?)");
  }
  std::vector<SourceFile> files = {{name, *model}};
  std::set<std::string> seen = {name};
  ExternalDataResolver resolver(dir);
  for (const auto& init : proto.graph().initializer()) {
    for (const auto& entry : init.external_data()) {
      if (entry.key() != "location" || !seen.insert(entry.value()).second) continue;
      auto file = resolver.Map(entry.value());
      if (!file.ok()) return file.status().WithContext("model '" + name + "', tensor '" + init.name() + "'");
      files.push_back({entry.value(), *file});
    }
  }
  return files;
}

Tensor BytesTensor(const char* data, size_t size, std::shared_ptr<void> keep) {
  return Tensor(DType::kUInt8, {static_cast<int64_t>(size)}, Buffer::Wrap(const_cast<char*>(data), size, keep));
}

// A name a receiving rank accepts: relative, without '..', inside the folder it writes.
bool SafeName(const std::string& name) {
  const fs::path p(name);
  if (name.empty() || p.is_absolute()) return false;
  for (const auto& part : p) {
    if (part == "..") return false;
  }
  return true;
}

}  // namespace

SharedModelFiles::SharedModelFiles(SharedModelFiles&& other) noexcept
    : path_(std::move(other.path_)), temp_dir_(std::move(other.temp_dir_)), bytes_(other.bytes_) {
  other.temp_dir_.clear();
}

SharedModelFiles::~SharedModelFiles() {
  if (temp_dir_.empty()) return;
  std::error_code ec;
  fs::remove_all(temp_dir_, ec);
}

StatusOr<SharedModelFiles> SharedModelFiles::Share(Communicator& comm, const std::string& model_path) {
  const bool root = comm.rank() == 0;
  SharedModelFiles shared;
  StatusOr<std::vector<SourceFile>> files = std::vector<SourceFile>{};
  if (root) files = ListModelFiles(model_path);
  TS_RETURN_IF_ERROR(AgreeOnRoot(comm, 0, files.status()));
  if (root) {
    shared.path_ = model_path;
  } else {
    std::string pattern = (fs::temp_directory_path() / "tessera-model-XXXXXX").string();
    const char* made = mkdtemp(pattern.data());
    shared.temp_dir_ = made != nullptr ? made : "";
  }
  TS_RETURN_IF_ERROR(AgreeAll(comm, root || !shared.temp_dir_.empty()
                                        ? Status::Ok()
                                        : IoError("rank " + std::to_string(comm.rank()) +
                                                  ": cannot make a temporary folder for the model")));
  Tensor count = Tensor::FromVector<int64_t>(DType::kInt64, {1},
                                             std::vector<int64_t>{root ? static_cast<int64_t>(files->size()) : 0});
  TS_RETURN_IF_ERROR(comm.Broadcast(count, 0));
  Status written = Status::Ok();
  for (int64_t f = 0; f < count.data<int64_t>()[0]; ++f) {
    const SourceFile* source = root ? &(*files)[static_cast<size_t>(f)] : nullptr;
    Tensor name = root ? BytesTensor(source->name.data(), source->name.size(), nullptr) : Tensor();
    TS_RETURN_IF_ERROR(comm.Broadcast(name, 0));
    const std::string file_name(static_cast<const char*>(name.raw_data()), name.byte_size());
    Tensor size = Tensor::FromVector<int64_t>(DType::kInt64, {1},
                                              std::vector<int64_t>{root ? static_cast<int64_t>(source->data->size()) : 0});
    TS_RETURN_IF_ERROR(comm.Broadcast(size, 0));
    const size_t bytes = static_cast<size_t>(size.data<int64_t>()[0]);
    std::ofstream out;
    if (!root && written.ok()) {
      if (!SafeName(file_name)) {
        written = InvalidArgument("rank 0 sent a model file named '" + file_name + "' outside the model's folder");
      } else {
        const fs::path target = fs::path(shared.temp_dir_) / file_name;
        std::error_code ec;
        fs::create_directories(target.parent_path(), ec);
        out.open(target, std::ios::binary | std::ios::trunc);
        if (!out) written = IoError("cannot write '" + target.string() + "'");
        if (f == 0) shared.path_ = target.string();
      }
    }
    for (size_t done = 0; done < bytes; done += kPieceBytes) {
      const size_t piece = std::min(kPieceBytes, bytes - done);
      Tensor part = root ? BytesTensor(source->data->data() + done, piece, source->data) : Tensor();
      TS_RETURN_IF_ERROR(comm.Broadcast(part, 0));
      if (!root && written.ok() && out) {
        out.write(static_cast<const char*>(part.raw_data()), static_cast<std::streamsize>(part.byte_size()));
        if (!out) written = IoError("cannot write the model file '" + file_name + "' (disk full?)");
      }
    }
    shared.bytes_ += bytes;
  }
  if (!written.ok()) written = written.WithContext("rank " + std::to_string(comm.rank()));
  TS_RETURN_IF_ERROR(AgreeAll(comm, written));
  return shared;
}

}  // namespace tessera::cli
