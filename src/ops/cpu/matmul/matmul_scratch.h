// Size checks for the scratch vectors of the MatMul and quantization families.
//
// Intermediates (Einsum's rearranged operands, im2col buffers, batch offsets) live in std::vector, sized
// from model data. An absurd size must fail like a Tensor allocation does (ResourceExhausted, under
// Buffer's limit), not throw std::bad_alloc or be overcommitted and then OOM-killed when first touched.
#pragma once

#include <cstdint>
#include <string>

#include "tessera/tensor.h"

namespace tessera {

// Ok when `count` elements of `element_size` bytes fit Buffer::limit_bytes(); a negative count means the
// size computation overflowed.
inline Status CheckScratchSize(int64_t count, size_t element_size, const char* what) {
  if (count >= 0 && static_cast<uint64_t>(count) <= Buffer::limit_bytes() / element_size) return Status::Ok();
  return ResourceExhausted(
      std::string(what) + " needs " + (count < 0 ? "an overflowing number of" : std::to_string(count)) +
      " elements of scratch memory, over the allocation limit of " + std::to_string(Buffer::limit_bytes()) + " bytes");
}

// The product of `dims`, or -1 when it overflows int64 or a dim is negative.
inline int64_t ScratchElementCount(const std::vector<int64_t>& dims) {
  int64_t p = 1;
  for (int64_t d : dims) {
    if (d < 0) return -1;
    if (d != 0 && p > INT64_MAX / d) return -1;
    p *= d;
  }
  return p;
}

}  // namespace tessera
