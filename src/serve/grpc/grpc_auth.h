// Bearer-token check for gRPC calls: the token travels in the `authorization` metadata as "Bearer <token>".
#pragma once

#include <grpcpp/support/string_ref.h>

#include <map>
#include <string>

#include "tessera/status.h"

namespace tessera::serve {

// OK when `expected_token` is empty (auth off) or when `metadata` carries "authorization: Bearer
// <expected_token>" (the scheme's case is ignored, as RFC 6750 allows). Unauthenticated otherwise; the
// message says what was missing and never echoes the token. The comparison takes the same time whatever
// prefix of the token matches.
Status CheckBearerToken(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                        const std::string& expected_token);

}  // namespace tessera::serve
