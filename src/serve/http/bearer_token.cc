// Constant-time bearer-token comparison (see bearer_token.h).
#include "serve/http/bearer_token.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace tessera::serve::http {

bool BearerTokenMatches(std::string_view authorization, std::string_view token) {
  constexpr std::string_view kScheme = "Bearer ";
  // The scheme name is case-insensitive (RFC 7235); the token is not.
  if (authorization.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    char k = kScheme[i];
    if (k >= 'A' && k <= 'Z') k = static_cast<char>(k - 'A' + 'a');
    if (c != k) return false;
  }
  const std::string_view given = authorization.substr(kScheme.size());
  unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(given.data()), given.size(), a);
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), b);
  return !token.empty() && CRYPTO_memcmp(a, b, SHA256_DIGEST_LENGTH) == 0;
}

}  // namespace tessera::serve::http
