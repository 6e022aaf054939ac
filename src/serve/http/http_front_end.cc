// Placeholder until the http front end lands.
#include "serve/front_end.h"

namespace tessera::serve {

StatusOr<std::unique_ptr<FrontEnd>> StartHttpFrontEnd(InferenceService& /*service*/, const FrontEndOptions& /*options*/) {
  return Unimplemented("the http front end is not available yet");
}

}  // namespace tessera::serve
