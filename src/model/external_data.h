// Weights stored outside the .onnx file (TensorProto.data_location == EXTERNAL).
//
// Files are resolved inside the model's folder only: an absolute path, or one that climbs out of the
// folder through '..' or a symbolic link, is rejected. Each file is mapped once, read-only, and tensors
// point into the mapping, so weights are never copied. A mapped page is resident only once something reads
// it, so a rank that converts a part of the weights holds that part; DropResidentPages lets go of pages
// read once (a weight sliced or copied elsewhere), which the file gives back when they are read again.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "core/resident_pages.h"  // DropResidentPages: a live MappedFile is a file region there
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
  // Records that this is the .onnx file itself, whose inline weights the loader left in it
  // (IsModelFileData).
  void MarkAsModelFile();

 private:
  MappedFile() = default;
  void* data_ = nullptr;
  size_t size_ = 0;
};

// True when [data, data + bytes) lies inside a live MappedFile: a weight that is such a view costs resident
// memory only for the pages read, and keeps no parsed model alive, so there is no reason to copy it.
bool IsMappedFileData(const void* data, size_t bytes);
// True when that range lies inside a mapped .onnx file (MappedFile::MarkAsModelFile): an inline weight not
// yet copied out of the model file.
bool IsModelFileData(const void* data, size_t bytes);

class ExternalDataResolver {
 public:
  // `model_dir` is the folder of the model file; empty for models loaded from memory, which then may
  // not use external data.
  explicit ExternalDataResolver(std::string model_dir) : model_dir_(std::move(model_dir)) {}

  // Maps `location` (as written in the model) and returns the file.
  StatusOr<std::shared_ptr<MappedFile>> Map(const std::string& location);

  // The model file itself, already mapped: `location` (its file name) resolves to it. The loader points
  // large inline weights into it this way (model/inline_weights.h).
  void AddModelFile(const std::string& location, std::shared_ptr<MappedFile> file);

  // When set, a weight whose bytes in the file are not aligned for its type stays a view into the file
  // instead of being copied at once; CopyDeferredWeights (model/weight_copies.h) copies the ones still
  // in the graph later, so a rank copies only the weights it keeps.
  void set_keep_unaligned_views(bool keep) { keep_unaligned_views_ = keep; }
  bool keep_unaligned_views() const { return keep_unaligned_views_; }

 private:
  std::string model_dir_;
  std::map<std::string, std::shared_ptr<MappedFile>> files_;
  std::string model_file_location_;
  std::shared_ptr<MappedFile> model_file_;
  bool keep_unaligned_views_ = false;
};

}  // namespace tessera
