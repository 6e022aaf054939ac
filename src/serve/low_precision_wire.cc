// Wire bytes of the low-precision types (see the header): 4-bit packing, other types as they lie.
#include "serve/low_precision_wire.h"

#include <cstring>
#include <vector>

#include "core/low_precision.h"

namespace tessera::serve {

size_t WireByteSize(DType dtype, int64_t count, bool* ok) {
  *ok = count >= 0;
  if (!*ok) return 0;
  if (IsPackedFourBit(dtype)) return PackedByteSize(dtype, static_cast<size_t>(count));
  const size_t element = DTypeSize(dtype);
  const size_t n = static_cast<size_t>(count);
  if (element != 0 && n > SIZE_MAX / element) {
    *ok = false;
    return 0;
  }
  return n * element;
}

Status ReadWireBytes(std::string_view bytes, Tensor& t, const std::string& where) {
  const int64_t count = t.element_count();
  if (!IsPackedFourBit(t.dtype())) {
    if (!bytes.empty()) std::memcpy(t.raw_data(), bytes.data(), bytes.size());
    return Status::Ok();
  }
  const auto* packed = reinterpret_cast<const uint8_t*>(bytes.data());
  if (count % 2 == 1 && (packed[bytes.size() - 1] >> 4) != 0) {
    return InvalidArgument(where + ": the padding nibble after the last of " + std::to_string(count) +
                           " 4-bit elements must be zero");
  }
  UnpackNibbles(packed, static_cast<size_t>(count), t.data<uint8_t>());
  return Status::Ok();
}

void AppendWireBytes(const Tensor& t, std::string& out) {
  const int64_t count = t.element_count();
  if (count <= 0) return;
  if (!IsPackedFourBit(t.dtype())) {
    out.append(static_cast<const char*>(t.raw_data()), t.byte_size());
    return;
  }
  std::vector<uint8_t> packed(PackedByteSize(t.dtype(), static_cast<size_t>(count)));
  PackNibbles(t.data<uint8_t>(), static_cast<size_t>(count), packed.data());
  out.append(reinterpret_cast<const char*>(packed.data()), packed.size());
}

}  // namespace tessera::serve
