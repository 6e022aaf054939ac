// Placeholder until the server lands.
#include "serve/inference_server.h"

namespace tessera::serve {

StatusOr<std::unique_ptr<InferenceServer>> CreateInferenceServer(const ServerOptions& /*options*/) {
  return Unimplemented("the inference server is not available yet");
}

}  // namespace tessera::serve
