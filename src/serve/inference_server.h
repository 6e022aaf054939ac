// The server behind both front ends: a model repository, per-model queues, dynamic batching, metrics.
//
// CreateInferenceServer opens the repository (docs/serving.md, "Model repository") and loads the models
// asked for before returning; a model that fails to load leaves the server running but not Ready, with
// the reason in RepositoryIndex. Each loaded model version has a queue served by its instances (one
// Session and thread each); concurrent requests are merged along dim 0 when its config.json enables
// dynamic batching.
//
// Lifetime: destroy the server only after the front ends have stopped calling it (FrontEnd::Shutdown);
// the destructor finishes the requests still queued, then joins every instance thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "generate/scheduler.h"
#include "serve/inference_service.h"

namespace tessera::serve {

struct ServerOptions {
  std::string model_repo;                // Triton layout REPO/<model>/<version>/model.onnx; "" = bundled example
  std::vector<std::string> load_models;  // models loaded at start; empty = every model in the repository
  int default_threads = 0;               // per instance, when a model's config does not say; 0 = the cores
                                         // divided among the model's instances
  int request_timeout_ms = 60000;        // an inference still queued or running after this fails
                                         // (DeadlineExceeded); <= 0 = no limit
  generate::SchedulerLimits generation;  // for every generation model (decoder) in the repository
};

class InferenceServer : public InferenceService {
 public:
  // Stops taking new inferences (they get Unavailable) and returns when every accepted one has finished.
  virtual void Drain() = 0;
};

StatusOr<std::unique_ptr<InferenceServer>> CreateInferenceServer(const ServerOptions& options);

}  // namespace tessera::serve
