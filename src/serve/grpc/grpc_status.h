// Tessera Status ⇄ gRPC status: the one place where the gRPC front end chooses its error codes.
#pragma once

#include <grpcpp/support/status.h>

#include "tessera/status.h"

namespace tessera::serve {

// INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE, DEADLINE_EXCEEDED, UNAUTHENTICATED, RESOURCE_EXHAUSTED and
// UNIMPLEMENTED for the StatusCodes of the same meaning; INTERNAL for internal and I/O errors. The message
// is the Status's message, unchanged.
grpc::Status ToGrpcStatus(const Status& status);

}  // namespace tessera::serve
