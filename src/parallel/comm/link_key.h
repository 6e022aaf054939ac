// The shared secret that protects rank-to-rank links, and the keys derived from it.
//
// A job's ranks all read the same key file (--link-key FILE or TESSERA_LINK_KEY_FILE): at least 32 bytes
// of secret, readable by its owner only. From it and a public per-job salt, HKDF-SHA256 derives one
// AES-256-GCM key and one 4-byte nonce prefix per (source, destination, tag) of a communicator, so that a
// counter starting at 0 never meets another stream's counter under the same key.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "tessera/status.h"

namespace tessera {

constexpr size_t kMinLinkSecretBytes = 32;
constexpr size_t kLinkSaltBytes = 16;
constexpr size_t kMaxLinkKeyFileBytes = 4096;
// How `run`, `plan` and `serve` describe links (Communicator::link_protection).
constexpr char kSealedLinksText[] = "AES-256-GCM (key file)";

// Secret bytes, wiped when destroyed.
class LinkSecret {
 public:
  LinkSecret() = default;
  explicit LinkSecret(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
  LinkSecret(const LinkSecret& other) = default;
  LinkSecret& operator=(const LinkSecret& other);
  ~LinkSecret();

  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

// Reads a key file: a regular file of kMinLinkSecretBytes to kMaxLinkKeyFileBytes bytes that neither its
// group nor others may read (the same rule ssh applies to private keys). The whole file is the secret.
StatusOr<LinkSecret> ReadLinkKeyFile(const std::string& path);

// The key file a command should use: `flag_value` when given, else $TESSERA_LINK_KEY_FILE, else "".
std::string LinkKeyFilePath(const std::string& flag_value);

// One direction of one stream: its AES-256 key and the nonce prefix its counter follows.
struct LinkStreamKey {
  std::array<uint8_t, 32> key{};
  std::array<uint8_t, 4> nonce_prefix{};
};

// HKDF-SHA256(secret, salt, info = "tessera link v1" | src | dst | tag).
StatusOr<LinkStreamKey> DeriveLinkStreamKey(const LinkSecret& secret, const std::array<uint8_t, kLinkSaltBytes>& salt,
                                            int src, int dst, int tag);

// The secret of a sub-communicator: HKDF(parent, salt, "tessera split v1" | split number | colour). Every
// rank of the parent numbers its splits alike (Split is collective), so members of one colour agree.
StatusOr<LinkSecret> DeriveSplitSecret(const LinkSecret& parent, const std::array<uint8_t, kLinkSaltBytes>& salt,
                                       uint64_t split_number, int color);

}  // namespace tessera
