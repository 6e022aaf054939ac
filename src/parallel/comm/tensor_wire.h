// The header that goes before every tensor between ranks.
//
// Framing: one message of int64 words [kWireVersion, dtype, rank, dim0 .. dim{rank-1}, byte count],
// then the payload as raw bytes (in chunks of at most 1 GiB, since MPI counts are ints). Ranks of one
// job run the same binary, so the version guards against mixing builds across hosts; the header is
// still checked like untrusted input, because a bug elsewhere must not become a wild allocation.
#pragma once

#include <cstdint>
#include <vector>

#include "tessera/tensor.h"

namespace tessera {

constexpr int64_t kWireVersion = 1;
constexpr int kMaxWireRank = 16;
constexpr int kMaxWireHeaderWords = 4 + kMaxWireRank;

std::vector<int64_t> EncodeTensorHeader(const Tensor& t);

// The dtype and shape a header announces (validated), plus the payload size in bytes.
struct TensorHeader {
  DType dtype = DType::kUndefined;
  Shape shape;
  size_t bytes = 0;
};
StatusOr<TensorHeader> DecodeTensorHeader(const int64_t* words, int count);

}  // namespace tessera
