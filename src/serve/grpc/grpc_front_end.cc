// Placeholder until the grpc front end lands.
#include "serve/front_end.h"

namespace tessera::serve {

StatusOr<std::unique_ptr<FrontEnd>> StartGrpcFrontEnd(InferenceService& /*service*/, const FrontEndOptions& /*options*/) {
  return Unimplemented("the grpc front end is not available yet");
}

}  // namespace tessera::serve
