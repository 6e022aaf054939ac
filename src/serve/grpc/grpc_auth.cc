// Bearer tokens in gRPC metadata.
#include "serve/grpc/grpc_auth.h"

#include <cctype>
#include <string_view>

namespace tessera::serve {

namespace {
constexpr std::string_view kScheme = "bearer ";

bool StartsWithScheme(std::string_view value) {
  if (value.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) return false;
  }
  return true;
}

// Every byte is compared whatever came before, so the time taken does not reveal how much of a guess
// matched. `expected` is never empty (auth is off then).
bool ConstantTimeEquals(std::string_view given, std::string_view expected) {
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i] ^ expected[i % expected.size()]);
  }
  return diff == 0;
}
}  // namespace

Status CheckBearerToken(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                        const std::string& expected_token) {
  if (expected_token.empty()) return Status::Ok();
  auto [begin, end] = metadata.equal_range("authorization");
  if (begin == end) return Unauthenticated("missing 'authorization: Bearer <token>' metadata");
  for (auto it = begin; it != end; ++it) {
    std::string_view value(it->second.data(), it->second.size());
    if (!StartsWithScheme(value)) continue;
    value.remove_prefix(kScheme.size());
    if (ConstantTimeEquals(value, expected_token)) return Status::Ok();
  }
  return Unauthenticated("invalid bearer token in the 'authorization' metadata");
}

}  // namespace tessera::serve
