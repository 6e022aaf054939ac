// Bearer-token check for the REST front end ("Authorization: Bearer <token>", RFC 6750).
#pragma once

#include <string_view>

namespace tessera::serve::http {

// Whether `authorization` (the header's value) carries exactly `token`. Both sides are hashed with
// SHA-256 and the digests compared in constant time, so the time taken reveals neither the token's
// content nor its length.
bool BearerTokenMatches(std::string_view authorization, std::string_view token);

}  // namespace tessera::serve::http
