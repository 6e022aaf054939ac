// The server behind both front ends: a model repository, per-model queues, dynamic batching, metrics.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "serve/inference_service.h"

namespace tessera::serve {

struct ServerOptions {
  std::string model_repo;               // Triton layout REPO/<model>/<version>/model.onnx; "" = bundled example
  std::vector<std::string> load_models; // models loaded at start; empty = every model in the repository
  int default_threads = 0;              // per instance, when a model's config does not say; 0 = every core
  int request_timeout_ms = 60000;       // an inference still queued or running after this fails
};

class InferenceServer : public InferenceService {
 public:
  // Stops taking new inferences (they get Unavailable) and returns when every accepted one has finished.
  virtual void Drain() = 0;
};

StatusOr<std::unique_ptr<InferenceServer>> CreateInferenceServer(const ServerOptions& options);

}  // namespace tessera::serve
