// AlignModelWeights: one copy per unaligned weight, the source's pages dropped as it goes.
#include "model/unaligned_weights.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "model/external_data.h"

namespace tessera {

namespace {

// Large copies get pages of their own, as the loader gives large weights (tensor_proto.cc): a kernel that
// packs the weight drops the original, and unmapped pages go back to the system at once.
constexpr size_t kPageBackedBytes = size_t{1} << 20;

// Copied in pieces whose file pages are dropped as soon as they are copied, so the copy does not hold the
// weight twice at its peak.
constexpr size_t kCopyPieceBytes = size_t{4} << 20;

}  // namespace

StatusOr<Tensor> CopyWeightToOwnMemory(const Tensor& t) {
  const size_t bytes = t.byte_size();
  if (bytes < kPageBackedBytes) return t.Clone();
  void* data = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (data == MAP_FAILED) return ResourceExhausted("cannot map " + std::to_string(bytes) + " bytes");
  std::shared_ptr<void> pages(data, [bytes](void* p) { munmap(p, bytes); });
  const char* source = static_cast<const char*>(t.raw_data());
  for (size_t done = 0; done < bytes; done += kCopyPieceBytes) {
    const size_t piece = std::min(kCopyPieceBytes, bytes - done);
    std::memcpy(static_cast<char*>(data) + done, source + done, piece);
    DropResidentPages(source + done, piece);
  }
  return Tensor(t.dtype(), t.shape(), Buffer::Wrap(data, bytes, std::move(pages)));
}

StatusOr<size_t> AlignModelWeights(Graph& graph) {
  size_t copied = 0;
  for (auto& [id, t] : graph.constants) {
    if (!t.defined() || t.dtype() == DType::kString || t.byte_size() == 0) continue;
    if (reinterpret_cast<uintptr_t>(t.raw_data()) % DTypeSize(t.dtype()) == 0) continue;
    auto copy = CopyWeightToOwnMemory(t);
    if (!copy.ok()) return copy.status().WithContext("copying weight '" + graph.value(id).name + "'");
    const void* source = t.raw_data();
    const size_t bytes = t.byte_size();
    t = std::move(copy).value();
    DropResidentPages(source, bytes);
    copied += bytes;
  }
  return copied;
}

}  // namespace tessera
