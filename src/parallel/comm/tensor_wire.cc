// Tensor header encoding and validation.
#include "parallel/comm/tensor_wire.h"

namespace tessera {

std::vector<int64_t> EncodeTensorHeader(const Tensor& t) {
  std::vector<int64_t> words = {kWireVersion, static_cast<int64_t>(t.dtype()), t.rank()};
  for (int64_t d : t.shape()) words.push_back(d);
  words.push_back(static_cast<int64_t>(t.byte_size()));
  return words;
}

StatusOr<TensorHeader> DecodeTensorHeader(const int64_t* words, int count) {
  if (count < 4) return InvalidArgument("tensor header of " + std::to_string(count) + " words is too short");
  if (words[0] != kWireVersion) {
    return InvalidArgument("tensor header version " + std::to_string(words[0]) + ", this build speaks " +
                           std::to_string(kWireVersion) + " (are all ranks running the same tessera?)");
  }
  int64_t rank = words[2];
  if (rank < 0 || rank > kMaxWireRank || count != 4 + rank) return InvalidArgument("tensor header with bad rank " + std::to_string(rank));
  TensorHeader h;
  if (!IsKnownDType(static_cast<int>(words[1])) || words[1] == static_cast<int64_t>(DType::kString) ||
      words[1] == static_cast<int64_t>(DType::kUndefined)) {
    return InvalidArgument("tensor header with unsupported dtype " + std::to_string(words[1]));
  }
  h.dtype = static_cast<DType>(words[1]);
  for (int64_t i = 0; i < rank; ++i) {
    if (words[3 + i] < 0) return InvalidArgument("tensor header with negative dim");
    h.shape.push_back(words[3 + i]);
  }
  int64_t elements = ShapeElementCount(h.shape);
  if (elements < 0) return InvalidArgument("tensor header with an overflowing shape");
  h.bytes = static_cast<size_t>(elements) * DTypeSize(h.dtype);
  if (words[3 + rank] != static_cast<int64_t>(h.bytes)) return InvalidArgument("tensor header byte count does not match its shape");
  return h;
}

}  // namespace tessera
