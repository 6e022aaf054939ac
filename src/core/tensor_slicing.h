// Cutting a tensor into pieces along one axis and joining pieces back: what scatter/gather over ranks,
// micro-batching and shard assembly need. Pure functions on contiguous row-major tensors.
#pragma once

#include <vector>

#include "tessera/tensor.h"

namespace tessera {

// Rows [begin, end) of `t` along `axis` as a new contiguous tensor (a view when axis is 0).
StatusOr<Tensor> SliceAlongAxis(const Tensor& t, int64_t axis, int64_t begin, int64_t end);

// Concatenation of `parts` along `axis`; every part has the same dtype and the same other dims.
StatusOr<Tensor> ConcatAlongAxis(const std::vector<Tensor>& parts, int64_t axis);

// Sizes of `count` items split over `parts` as evenly as possible, the first ones one larger
// (10 over 4 -> 3 3 2 2; 2 over 3 -> 1 1 0).
std::vector<int64_t> EvenSplit(int64_t count, int parts);

}  // namespace tessera
