// Weights stored outside the .onnx file (TensorProto.data_location == EXTERNAL).
//
// Files are resolved inside the model's folder only: an absolute path, or one that climbs out of the
// folder through '..' or a symbolic link, is rejected. Each file is mapped once, read-only, and tensors
// point into the mapping, so weights are never copied.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "tessera/status.h"

namespace tessera {

class MappedFile {
 public:
  static StatusOr<std::shared_ptr<MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const char* data() const { return static_cast<const char*>(data_); }
  size_t size() const { return size_; }

 private:
  MappedFile() = default;
  void* data_ = nullptr;
  size_t size_ = 0;
};

class ExternalDataResolver {
 public:
  // `model_dir` is the folder of the model file; empty for models loaded from memory, which then may
  // not use external data.
  explicit ExternalDataResolver(std::string model_dir) : model_dir_(std::move(model_dir)) {}

  // Maps `location` (as written in the model) and returns the file.
  StatusOr<std::shared_ptr<MappedFile>> Map(const std::string& location);

 private:
  std::string model_dir_;
  std::map<std::string, std::shared_ptr<MappedFile>> files_;
};

}  // namespace tessera
