// The registry of droppable page regions and madvise(MADV_DONTNEED) on ranges inside them.
#include "core/resident_pages.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace tessera {

namespace {

struct Region {
  uintptr_t end = 0;
  PageRegionKind kind = PageRegionKind::kFile;
};

std::mutex& RegionsMutex() {
  static std::mutex mutex;
  return mutex;
}

// By first byte.
std::map<uintptr_t, Region>& Regions() {
  static std::map<uintptr_t, Region> regions;
  return regions;
}

// The region holding all of [begin, begin + bytes), or nullptr. Under RegionsMutex.
const Region* FindRegion(uintptr_t begin, size_t bytes) {
  if (begin == 0 || begin + bytes < begin) return nullptr;
  auto it = Regions().upper_bound(begin);
  if (it == Regions().begin()) return nullptr;
  --it;
  return begin + bytes <= it->second.end ? &it->second : nullptr;
}

bool IsFile(PageRegionKind kind) { return kind == PageRegionKind::kFile || kind == PageRegionKind::kModelFile; }

// madvise on the pages wholly inside [data, data + bytes) when it lies in a region that `allowed` accepts.
template <typename Allowed>
size_t DropPagesIf(const void* data, size_t bytes, Allowed allowed) {
  const auto begin = reinterpret_cast<uintptr_t>(data);
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t first = (begin + page - 1) / page * page;
  const uintptr_t last = (begin + bytes) / page * page;
  if (bytes == 0 || first >= last) return 0;
  std::lock_guard<std::mutex> lock(RegionsMutex());
  const Region* region = FindRegion(begin, bytes);
  if (region == nullptr || !allowed(region->kind)) return 0;
  return ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED) == 0 ? last - first : 0;
}

}  // namespace

StatusOr<Tensor> AllocateWeightPages(DType dtype, const Shape& shape) {
  const int64_t count = ShapeElementCount(shape);
  if (count < 0) return InvalidArgument("a weight of shape " + ShapeToString(shape));
  const size_t bytes = static_cast<size_t>(count) * DTypeSize(dtype);
  if (bytes == 0) return Tensor::AllocateUninitialized(dtype, shape);
  void* data = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (data == MAP_FAILED) return ResourceExhausted("cannot map " + std::to_string(bytes) + " bytes for a weight");
  RegisterPageRegion(data, bytes, PageRegionKind::kOwnWeight);
  std::shared_ptr<void> pages(data, [bytes](void* p) {
    UnregisterPageRegion(p);
    ::munmap(p, bytes);
  });
  return Tensor(dtype, shape, Buffer::Wrap(data, bytes, std::move(pages)));
}

void RegisterPageRegion(const void* data, size_t bytes, PageRegionKind kind) {
  if (data == nullptr || bytes == 0) return;
  const auto begin = reinterpret_cast<uintptr_t>(data);
  std::lock_guard<std::mutex> lock(RegionsMutex());
  Regions()[begin] = Region{begin + bytes, kind};
}

void UnregisterPageRegion(const void* data) {
  std::lock_guard<std::mutex> lock(RegionsMutex());
  Regions().erase(reinterpret_cast<uintptr_t>(data));
}

bool IsInPageRegion(const void* data, size_t bytes, PageRegionKind kind) {
  std::lock_guard<std::mutex> lock(RegionsMutex());
  const Region* region = FindRegion(reinterpret_cast<uintptr_t>(data), bytes);
  return region != nullptr && region->kind == kind;
}

void DropResidentPages(const void* data, size_t bytes) { DropPagesIf(data, bytes, IsFile); }

size_t DiscardConsumedPages(const void* data, size_t bytes) {
  return DropPagesIf(data, bytes, [](PageRegionKind kind) { return IsFile(kind) || kind == PageRegionKind::kOwnWeight; });
}

}  // namespace tessera
