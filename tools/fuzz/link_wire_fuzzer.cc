// libFuzzer target for what ranks read from the network: tensor_wire headers and sealed records.
//
// The first byte picks the parser. A header is decoded from the words that follow; a record is opened
// by a receiving stream under a fixed key, so the fuzzer drives the record's size checks, the header
// decoded before authentication (its size must match the record before anything is allocated) and the
// failure paths. Neither may crash, assert or allocate more than the input's size.
// Build: cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DTESSERA_FUZZ=ON
// Run:   build-fuzz/tools/fuzz/link_wire_fuzzer -max_total_time=600 -rss_limit_mb=2048 CORPUS_DIR
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <vector>

#include "parallel/comm/link_key.h"
#include "parallel/comm/sealed_record.h"
#include "parallel/comm/tensor_wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  tessera::Buffer::set_limit_bytes(size_t{1} << 28);
  const uint8_t mode = data[0];
  ++data;
  --size;
  if (mode % 2 == 0) {
    std::vector<int64_t> words(std::min<size_t>(size / 8, tessera::kMaxWireHeaderWords + 4));
    std::memcpy(words.data(), data, words.size() * 8);
    (void)tessera::DecodeTensorHeader(words.data(), static_cast<int>(words.size()));
    return 0;
  }
  static std::unique_ptr<tessera::LinkStream> receiver = [] {
    const tessera::LinkSecret secret(std::vector<uint8_t>(32, 0x5a));
    const std::array<uint8_t, tessera::kLinkSaltBytes> salt{};
    return tessera::LinkStream::Create(tessera::DeriveLinkStreamKey(secret, salt, 1, 0, 7).value(), false).value();
  }();
  auto record = tessera::Tensor::AllocateUninitialized(tessera::DType::kUInt8, {static_cast<int64_t>(size)});
  if (!record.ok()) return 0;
  if (size > 0) std::memcpy(record->raw_data(), data, size);
  (void)receiver->Open({1, 0, 7}, *record);
  return 0;
}
