// Safe resolution and memory-mapping of external weight files.
#include "model/external_data.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>

namespace tessera {

namespace fs = std::filesystem;

bool IsMappedFileData(const void* data, size_t bytes) {
  return IsInPageRegion(data, bytes, PageRegionKind::kFile) || IsInPageRegion(data, bytes, PageRegionKind::kModelFile);
}

bool IsModelFileData(const void* data, size_t bytes) {
  return IsInPageRegion(data, bytes, PageRegionKind::kModelFile);
}

void MappedFile::MarkAsModelFile() {
  if (data_ != nullptr) RegisterPageRegion(data_, size_, PageRegionKind::kModelFile);
}

StatusOr<std::shared_ptr<MappedFile>> MappedFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open '" + path + "': " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return IoError("'" + path + "' is not a regular file");
  }
  auto file = std::shared_ptr<MappedFile>(new MappedFile());
  file->size_ = static_cast<size_t>(st.st_size);
  if (file->size_ > 0) {
    void* p = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      return IoError("cannot map '" + path + "': " + std::strerror(errno));
    }
    file->data_ = p;
    RegisterPageRegion(p, file->size_, PageRegionKind::kFile);
  }
  ::close(fd);
  return file;
}

MappedFile::~MappedFile() {
  if (data_ == nullptr) return;
  UnregisterPageRegion(data_);
  ::munmap(data_, size_);
}

void ExternalDataResolver::AddModelFile(const std::string& location, std::shared_ptr<MappedFile> file) {
  model_file_location_ = location;
  model_file_ = std::move(file);
}

StatusOr<std::shared_ptr<MappedFile>> ExternalDataResolver::Map(const std::string& location) {
  if (model_dir_.empty()) return InvalidArgument("external data '" + location + "' needs a model loaded from a file");
  if (location.empty()) return InvalidArgument("external data with an empty location");
  if (model_file_ && location == model_file_location_) return model_file_;
  fs::path rel(location);
  if (rel.is_absolute()) return InvalidArgument("external data location '" + location + "' is an absolute path");
  std::error_code ec;
  fs::path base = fs::weakly_canonical(fs::path(model_dir_), ec);
  if (ec) return IoError("cannot resolve model folder '" + model_dir_ + "'");
  fs::path full = fs::weakly_canonical(base / rel, ec);
  if (ec) return IoError("cannot resolve external data '" + location + "'");
  // The resolved path (symbolic links followed) must stay inside the model folder.
  auto [base_end, full_it] = std::mismatch(base.begin(), base.end(), full.begin(), full.end());
  if (base_end != base.end()) {
    return InvalidArgument("external data location '" + location + "' points outside the model's folder");
  }
  auto it = files_.find(full.string());
  if (it != files_.end()) return it->second;
  TS_ASSIGN_OR_RETURN(auto file, MappedFile::Open(full.string()));
  files_.emplace(full.string(), file);
  return file;
}

}  // namespace tessera
