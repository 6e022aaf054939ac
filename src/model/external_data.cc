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
#include <mutex>

namespace tessera {

namespace fs = std::filesystem;

namespace {

// The live mappings, by first byte: DropResidentPages must never touch memory that is not one of them
// (MADV_DONTNEED on the heap would zero it).
std::mutex& MappingsMutex() {
  static std::mutex mutex;
  return mutex;
}
struct Mapping {
  uintptr_t end = 0;
  bool model_file = false;  // the .onnx itself (MarkAsModelFile)
};
std::map<uintptr_t, Mapping>& Mappings() {
  static std::map<uintptr_t, Mapping> mappings;
  return mappings;
}

// The mapping holding all of [begin, begin + bytes), or nullptr. Under MappingsMutex.
const Mapping* FindMapping(uintptr_t begin, size_t bytes) {
  if (begin == 0 || begin + bytes < begin) return nullptr;
  auto it = Mappings().upper_bound(begin);
  if (it == Mappings().begin()) return nullptr;
  --it;
  return begin >= it->first && begin + bytes <= it->second.end ? &it->second : nullptr;
}

}  // namespace

bool IsMappedFileData(const void* data, size_t bytes) {
  std::lock_guard<std::mutex> lock(MappingsMutex());
  return FindMapping(reinterpret_cast<uintptr_t>(data), bytes) != nullptr;
}

bool IsModelFileData(const void* data, size_t bytes) {
  std::lock_guard<std::mutex> lock(MappingsMutex());
  const Mapping* m = FindMapping(reinterpret_cast<uintptr_t>(data), bytes);
  return m != nullptr && m->model_file;
}

void MappedFile::MarkAsModelFile() {
  if (data_ == nullptr) return;
  std::lock_guard<std::mutex> lock(MappingsMutex());
  Mappings()[reinterpret_cast<uintptr_t>(data_)].model_file = true;
}

void DropResidentPages(const void* data, size_t bytes) {
  const auto begin = reinterpret_cast<uintptr_t>(data);
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t first = (begin + page - 1) / page * page;
  const uintptr_t last = (begin + bytes) / page * page;
  if (bytes == 0 || first >= last) return;
  std::lock_guard<std::mutex> lock(MappingsMutex());
  if (FindMapping(begin, bytes) == nullptr) return;
  ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
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
    std::lock_guard<std::mutex> lock(MappingsMutex());
    Mappings()[reinterpret_cast<uintptr_t>(p)] = Mapping{reinterpret_cast<uintptr_t>(p) + file->size_, false};
  }
  ::close(fd);
  return file;
}

MappedFile::~MappedFile() {
  if (data_ == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(MappingsMutex());
    Mappings().erase(reinterpret_cast<uintptr_t>(data_));
  }
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
