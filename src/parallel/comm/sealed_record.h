// The sealed record: how one tensor travels on a protected link.
//
// Layout (little-endian), carried by the inner transport as a 1-D uint8 tensor:
//   [0, 4)   record version (kSealedRecordVersion)
//   [4, 8)   W: how many tensor_wire header words the plaintext starts with (4 .. kMaxWireHeaderWords)
//   [8, n-16)  AES-256-GCM ciphertext of the W header words (tensor_wire.h) and then the payload bytes
//   [n-16, n)  the GCM tag
// Nonce: the stream's 4-byte prefix and its 64-bit message counter. Additional authenticated data: the
// first 8 bytes, source, destination, tag, counter and n. The counter is not on the wire: the receiver
// uses the one it expects next, so a replayed, reordered or dropped message fails authentication like a
// forged or truncated one.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "parallel/comm/link_key.h"
#include "tessera/tensor.h"

namespace tessera {

constexpr uint32_t kSealedRecordVersion = 1;
constexpr size_t kSealedRecordHeaderBytes = 8;
constexpr size_t kSealedRecordTagBytes = 16;

// Who sent a record to whom, on which tag: what the receiver expects, bound into every record.
struct LinkAddress {
  int src = 0;
  int dst = 0;
  int tag = 0;
  std::string Describe() const;  // "link from rank 1 to rank 0 (tag 7)"
};

// One direction of one (source, destination, tag) stream: its cipher and its counter. Not thread-safe.
class LinkStream {
 public:
  // `sealing`: this end encrypts (the sender) rather than decrypts.
  static StatusOr<std::unique_ptr<LinkStream>> Create(const LinkStreamKey& key, bool sealing);
  ~LinkStream();
  uint64_t counter() const { return counter_; }

  // Encrypts `tensor` into a record under the next counter value.
  StatusOr<Tensor> Seal(const LinkAddress& address, const Tensor& tensor);
  // Decrypts and authenticates a record under the expected counter value; the counter advances only when
  // it succeeds. Sizes are checked against the record's length before anything is allocated.
  StatusOr<Tensor> Open(const LinkAddress& address, const Tensor& record);

 private:
  LinkStream() = default;
  void Nonce(uint8_t out[12]) const;

  EVP_CIPHER_CTX* ctx_ = nullptr;
  std::array<uint8_t, 4> prefix_{};
  uint64_t counter_ = 0;
};

// The message every failed Open carries.
Status LinkAuthenticationError(const LinkAddress& address);

}  // namespace tessera
