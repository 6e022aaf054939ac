// Regions of this process's memory whose resident pages may be handed back to the system while the
// region stays mapped, and the two ways of doing so.
//
// Two kinds of region are registered by whoever maps them: private read-only mappings of files (model
// files and external weight data: a page dropped is read again from the file when next touched, so
// dropping is always safe) and anonymous mappings that each hold one weight of its own (a page dropped
// reads back as zeros, so only the weight's last reader may drop them). Memory that is in no registered
// region (the heap, a stack, another library's mapping) is never touched: MADV_DONTNEED there would
// zero live data. Thread-safe.
#pragma once

#include <cstddef>

#include "tessera/tensor.h"

namespace tessera {

enum class PageRegionKind {
  kFile,        // a private read-only file mapping
  kModelFile,   // the same, of a .onnx file whose inline weights the loader left in it
  kOwnWeight,   // anonymous pages mapped for one weight alone
};

// Records [data, data + bytes) as a region of `kind` (replacing any earlier record starting at data).
void RegisterPageRegion(const void* data, size_t bytes, PageRegionKind kind);
// Forgets the region starting at `data`; call before unmapping it.
void UnregisterPageRegion(const void* data);

// Whether all of [data, data + bytes) lies inside one registered region of `kind`.
bool IsInPageRegion(const void* data, size_t bytes, PageRegionKind kind);

// Drops the resident pages wholly inside [data, data + bytes) when the range lies inside a file region
// (kFile or kModelFile); anything else is left alone. Safe at any time.
void DropResidentPages(const void* data, size_t bytes);

// As DropResidentPages, and also inside a kOwnWeight region, whose dropped pages then read as zeros: for a
// reader that holds the only remaining use of the weight (a kernel that has packed it and will not read it
// again, with no other reader). Returns the bytes handed back (0 where nothing was).
size_t DiscardConsumedPages(const void* data, size_t bytes);

// Weights from this size up get pages of their own (AllocateWeightPages). Below 1 MiB the heap would
// serve them from its arena once glibc's mmap threshold has risen past their size (it rises to the largest
// block freed), and a packed weight's original freed there stays resident in a hole: a tensor-parallel
// BERT rank kept 2.4 MiB per layer that way (its 590 KiB query/key/value/output slices).
constexpr size_t kWeightPagesMinBytes = size_t{64} << 10;

// A tensor of `dtype` and `shape` (contents uninitialized) in anonymous pages mapped for it alone and
// registered as a kOwnWeight region while the tensor lives: for large weights, which kernels that pack
// them let go of (from the heap, the freed memory would stay resident in a hole that later allocations
// rarely fit; unmapped pages go back to the system at once). Fails when the system refuses the mapping.
StatusOr<Tensor> AllocateWeightPages(DType dtype, const Shape& shape);

}  // namespace tessera
