// Data-movement primitives of the shape family. Strided copy: the one primitive behind Transpose, Slice, Expand, Tile
// and the DepthToSpace family.
//
// A copy walks an iteration `shape`; element (i0, i1, ...) is read at sum(i_d * src_strides[d]) and
// written at sum(i_d * dst_strides[d]) (strides in elements; a source stride may be 0 to broadcast or
// negative to walk backwards). Dims are first coalesced, so the innermost loop is as long as it can be:
// unit-stride runs become memcpy (assignment for strings), a 0-stride run becomes a fill, and a copy whose
// source is contiguous along some other dim (a transpose moving the innermost axis) is done in cache tiles.
// Large copies are split over the pool by outer rows.
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "tessera/tensor.h"

namespace tessera {

// Copies `shape` elements of `dtype` from `src` to `dst` with the given element strides. Fails only for
// a dtype without a known element size. The caller guarantees that every index stays inside both buffers.
Status CopyStrided(DType dtype, const void* src, const std::vector<int64_t>& src_strides, void* dst,
                   const std::vector<int64_t>& dst_strides, const Shape& shape, ThreadPool& pool);

// Copies `shape` elements read with `src_strides` into a fresh row-major layout at `dst`.
Status GatherStrided(DType dtype, const void* src, const std::vector<int64_t>& src_strides, void* dst,
                     const Shape& shape, ThreadPool& pool);

// Copies `count` contiguous elements (memcpy, or string assignment).
void CopyElements(DType dtype, const void* src, void* dst, int64_t count);

// Sets `count` contiguous elements at `dst` to the one element at `value` (same dtype).
void FillElements(DType dtype, void* dst, int64_t count, const void* value);

}  // namespace tessera
