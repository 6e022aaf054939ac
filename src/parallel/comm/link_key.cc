// Key files and HKDF-SHA256 through OpenSSL's EVP_KDF.
#include "parallel/comm/link_key.h"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>

namespace tessera {

LinkSecret& LinkSecret::operator=(const LinkSecret& other) {
  if (this != &other) {
    if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
    bytes_ = other.bytes_;
  }
  return *this;
}

LinkSecret::~LinkSecret() {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

std::string LinkKeyFilePath(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  const char* env = std::getenv("TESSERA_LINK_KEY_FILE");
  return env ? env : "";
}

StatusOr<LinkSecret> ReadLinkKeyFile(const std::string& path) {
  const std::string what = "link key file " + path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError(what + ": " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgument(what + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return InvalidArgument(what + " may be read by its group or others; make it private (chmod 600)");
  }
  if (st.st_size < static_cast<off_t>(kMinLinkSecretBytes) || st.st_size > static_cast<off_t>(kMaxLinkKeyFileBytes)) {
    ::close(fd);
    return InvalidArgument(what + " holds " + std::to_string(st.st_size) + " bytes; a link key needs " +
                           std::to_string(kMinLinkSecretBytes) + " to " + std::to_string(kMaxLinkKeyFileBytes) +
                           " (e.g. head -c 32 /dev/urandom > FILE)");
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  LinkSecret secret(std::move(bytes));  // wiped on every path from here
  if (done != secret.bytes().size()) return IoError(what + ": short read");
  return secret;
}

namespace {

void PutU64(std::vector<uint8_t>& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

Status Hkdf(const std::vector<uint8_t>& ikm, const std::array<uint8_t, kLinkSaltBytes>& salt,
            const std::vector<uint8_t>& info, uint8_t* out, size_t out_len) {
  std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr), EVP_KDF_free);
  if (!kdf) return Internal("OpenSSL has no HKDF");
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(EVP_KDF_CTX_new(kdf.get()), EVP_KDF_CTX_free);
  if (!ctx) return ResourceExhausted("HKDF context");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(ikm.data()), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(salt.data()), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<uint8_t*>(info.data()), info.size()),
      OSSL_PARAM_construct_end()};
  if (EVP_KDF_derive(ctx.get(), out, out_len, params) != 1) return Internal("HKDF-SHA256 derivation failed");
  return Status::Ok();
}

std::vector<uint8_t> Label(const char* text) { return std::vector<uint8_t>(text, text + std::strlen(text)); }

}  // namespace

StatusOr<LinkStreamKey> DeriveLinkStreamKey(const LinkSecret& secret, const std::array<uint8_t, kLinkSaltBytes>& salt,
                                            int src, int dst, int tag) {
  std::vector<uint8_t> info = Label("tessera link v1");
  PutU64(info, static_cast<uint32_t>(src));
  PutU64(info, static_cast<uint32_t>(dst));
  PutU64(info, static_cast<uint32_t>(tag));
  uint8_t out[36];
  TS_RETURN_IF_ERROR(Hkdf(secret.bytes(), salt, info, out, sizeof out));
  LinkStreamKey k;
  std::memcpy(k.key.data(), out, 32);
  std::memcpy(k.nonce_prefix.data(), out + 32, 4);
  OPENSSL_cleanse(out, sizeof out);
  return k;
}

StatusOr<LinkSecret> DeriveSplitSecret(const LinkSecret& parent, const std::array<uint8_t, kLinkSaltBytes>& salt,
                                       uint64_t split_number, int color) {
  std::vector<uint8_t> info = Label("tessera split v1");
  PutU64(info, split_number);
  PutU64(info, static_cast<uint32_t>(color));
  std::vector<uint8_t> out(32);
  TS_RETURN_IF_ERROR(Hkdf(parent.bytes(), salt, info, out.data(), out.size()));
  return LinkSecret(std::move(out));
}

}  // namespace tessera
