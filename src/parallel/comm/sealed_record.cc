// Sealing and opening records with AES-256-GCM through OpenSSL EVP (AES-NI and CLMUL when the CPU has them).
#include "parallel/comm/sealed_record.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <vector>

#include "parallel/comm/tensor_wire.h"

namespace tessera {

static_assert(std::endian::native == std::endian::little, "sealed records are laid out little-endian");

namespace {

constexpr size_t kChunk = size_t{1} << 30;  // EVP lengths are ints

void PutU32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
uint32_t GetU32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The additional authenticated data: the record header, the address, the counter and the length.
constexpr size_t kAadBytes = kSealedRecordHeaderBytes + 3 * 4 + 8 + 8;
std::array<uint8_t, kAadBytes> Aad(const uint8_t* header, const LinkAddress& a, uint64_t counter, uint64_t length) {
  std::array<uint8_t, kAadBytes> aad;
  const int32_t ints[3] = {a.src, a.dst, a.tag};
  std::memcpy(aad.data(), header, kSealedRecordHeaderBytes);
  std::memcpy(aad.data() + kSealedRecordHeaderBytes, ints, sizeof ints);
  std::memcpy(aad.data() + kSealedRecordHeaderBytes + sizeof ints, &counter, 8);
  std::memcpy(aad.data() + kSealedRecordHeaderBytes + sizeof ints + 8, &length, 8);
  return aad;
}

// Runs the cipher over `n` bytes (in place allowed), in int-sized chunks.
bool Crypt(EVP_CIPHER_CTX* ctx, uint8_t* out, const uint8_t* in, size_t n) {
  for (size_t done = 0; done < n; done += kChunk) {
    int len = 0;
    const int step = static_cast<int>(std::min(kChunk, n - done));
    if (EVP_CipherUpdate(ctx, out + done, &len, in + done, step) != 1 || len != step) return false;
  }
  return true;
}

}  // namespace

std::string LinkAddress::Describe() const {
  return "link from rank " + std::to_string(src) + " to rank " + std::to_string(dst) + " (tag " + std::to_string(tag) + ")";
}

Status LinkAuthenticationError(const LinkAddress& address) {
  return Unauthenticated(address.Describe() + ": message failed authentication (forged, replayed, reordered or truncated)");
}

StatusOr<std::unique_ptr<LinkStream>> LinkStream::Create(const LinkStreamKey& key, bool sealing) {
  std::unique_ptr<LinkStream> s(new LinkStream());
  s->ctx_ = EVP_CIPHER_CTX_new();
  if (s->ctx_ == nullptr) return ResourceExhausted("AES-GCM context");
  if (EVP_CipherInit_ex(s->ctx_, EVP_aes_256_gcm(), nullptr, key.key.data(), nullptr, sealing ? 1 : 0) != 1) {
    return Internal("AES-256-GCM set-up failed");
  }
  s->prefix_ = key.nonce_prefix;
  return s;
}

LinkStream::~LinkStream() { EVP_CIPHER_CTX_free(ctx_); }  // also wipes the key schedule

void LinkStream::Nonce(uint8_t out[12]) const {
  std::memcpy(out, prefix_.data(), 4);
  std::memcpy(out + 4, &counter_, 8);
}

StatusOr<Tensor> LinkStream::Seal(const LinkAddress& address, const Tensor& tensor) {
  if (tensor.dtype() == DType::kString) return Unimplemented("sending string tensors between ranks");
  // A counter that wrapped would repeat a nonce; 2^64 messages will not happen, but never risk it.
  if (counter_ == UINT64_MAX) return ResourceExhausted(address.Describe() + ": message counter exhausted");
  const std::vector<int64_t> words = EncodeTensorHeader(tensor);
  const size_t header_bytes = words.size() * 8, total = kSealedRecordHeaderBytes + header_bytes + tensor.byte_size() + kSealedRecordTagBytes;
  TS_ASSIGN_OR_RETURN(Tensor record, Tensor::AllocateUninitialized(DType::kUInt8, {static_cast<int64_t>(total)}));
  uint8_t* r = record.data<uint8_t>();
  PutU32(r, kSealedRecordVersion);
  PutU32(r + 4, static_cast<uint32_t>(words.size()));
  uint8_t nonce[12];
  Nonce(nonce);
  const auto aad = Aad(r, address, counter_, total);
  int len = 0;
  bool ok = EVP_CipherInit_ex(ctx_, nullptr, nullptr, nullptr, nonce, -1) == 1 &&
            EVP_CipherUpdate(ctx_, nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1 &&
            Crypt(ctx_, r + kSealedRecordHeaderBytes, reinterpret_cast<const uint8_t*>(words.data()), header_bytes) &&
            Crypt(ctx_, r + kSealedRecordHeaderBytes + header_bytes, static_cast<const uint8_t*>(tensor.raw_data()), tensor.byte_size()) &&
            EVP_CipherFinal_ex(ctx_, r + total - kSealedRecordTagBytes, &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_GET_TAG, kSealedRecordTagBytes, r + total - kSealedRecordTagBytes) == 1;
  if (!ok) return Internal(address.Describe() + ": AES-256-GCM encryption failed");
  ++counter_;
  return record;
}

StatusOr<Tensor> LinkStream::Open(const LinkAddress& address, const Tensor& record) {
  if (record.dtype() != DType::kUInt8 || record.rank() != 1) {
    return InvalidArgument(address.Describe() + ": not a sealed record (does the sender run without --link-key?)");
  }
  const uint8_t* r = record.data<uint8_t>();
  const size_t total = record.byte_size();
  constexpr size_t kMinTotal = kSealedRecordHeaderBytes + 4 * 8 + kSealedRecordTagBytes;
  if (total < kMinTotal) return LinkAuthenticationError(address);
  if (GetU32(r) != kSealedRecordVersion) {
    return InvalidArgument(address.Describe() + ": sealed record version " + std::to_string(GetU32(r)) + ", this build speaks " +
                           std::to_string(kSealedRecordVersion) + " (are all ranks running the same tessera?)");
  }
  const uint32_t word_count = GetU32(r + 4);
  if (word_count < 4 || word_count > static_cast<uint32_t>(kMaxWireHeaderWords) || total < kMinTotal + (word_count - 4) * 8) {
    return LinkAuthenticationError(address);
  }
  const size_t header_bytes = word_count * 8;
  const size_t payload_bytes = total - kSealedRecordHeaderBytes - header_bytes - kSealedRecordTagBytes;
  uint8_t nonce[12];
  Nonce(nonce);
  const auto aad = Aad(r, address, counter_, total);
  int64_t words[kMaxWireHeaderWords];
  int len = 0;
  if (EVP_CipherInit_ex(ctx_, nullptr, nullptr, nullptr, nonce, -1) != 1 ||
      EVP_CipherUpdate(ctx_, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1 ||
      !Crypt(ctx_, reinterpret_cast<uint8_t*>(words), r + kSealedRecordHeaderBytes, header_bytes)) {
    return Internal(address.Describe() + ": AES-256-GCM decryption failed");
  }
  // The header is not authenticated yet, but it is validated, and its size must equal what the record
  // holds: a forged header can allocate no more than the record the transport already received.
  StatusOr<TensorHeader> header = DecodeTensorHeader(words, static_cast<int>(word_count));
  const bool fits = header.ok() && header->bytes == payload_bytes;
  Tensor tensor;
  std::vector<uint8_t> discard;
  uint8_t* out = nullptr;
  if (fits) {
    TS_ASSIGN_OR_RETURN(tensor, Tensor::AllocateUninitialized(header->dtype, header->shape));
    out = static_cast<uint8_t*>(tensor.raw_data());
  } else {
    // Finish the decryption anyway, to tell a genuine peer's bad header from a forgery.
    discard.resize(std::min<size_t>(payload_bytes, size_t{1} << 16));
  }
  const uint8_t* in = r + kSealedRecordHeaderBytes + header_bytes;
  bool ok = true;
  if (fits) {
    ok = Crypt(ctx_, out, in, payload_bytes);
  } else {
    for (size_t done = 0; ok && done < payload_bytes; done += discard.size()) {
      ok = Crypt(ctx_, discard.data(), in + done, std::min(discard.size(), payload_bytes - done));
    }
  }
  uint8_t tag[kSealedRecordTagBytes];
  std::memcpy(tag, r + total - kSealedRecordTagBytes, sizeof tag);
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_SET_TAG, sizeof tag, tag) == 1 && EVP_CipherFinal_ex(ctx_, tag, &len) == 1;
  if (!ok) return LinkAuthenticationError(address);
  if (!fits) {
    if (!header.ok()) return header.status().WithContext(address.Describe());
    return InvalidArgument(address.Describe() + ": tensor header announces " + std::to_string(header->bytes) +
                           " bytes, the record holds " + std::to_string(payload_bytes));
  }
  ++counter_;
  return tensor;
}

}  // namespace tessera
