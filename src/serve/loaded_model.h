// LoadedModel: one model version ready to serve: its signature, serving plan, queue and instances.
#pragma once

#include <memory>
#include <string>

#include "generate/scheduler.h"
#include "serve/generation_model.h"
#include "serve/model_config.h"
#include "serve/model_queue.h"
#include "serve/model_repository.h"
#include "serve/request_validation.h"
#include "serve/server_metrics.h"

namespace tessera::serve {

struct LoadedModel {
  ModelSignature signature;
  ServingPlan plan;
  std::shared_ptr<ModelMetrics> metrics;
  std::unique_ptr<ModelQueue> queue;          // null for a generation model
  std::shared_ptr<GenerationModel> generation;  // set for a decoder (generation_model.h)

  // Stops taking requests; those queued finish. A generation model ends when its last request has.
  void StopServing() {
    if (queue) queue->Stop();
    generation.reset();
  }
};

// `folder`'s config.json parsed, or the defaults when it has none.
StatusOr<ModelConfig> ReadModelConfig(const ModelFolder& folder);

// Checks `config` against the model at `version`, creates the plan's instances and starts their queue.
// Errors name the model, version and what is wrong (config field, load error).
StatusOr<std::shared_ptr<LoadedModel>> LoadModelVersion(const ModelFolder& folder, const ModelConfig& config,
                                                        int64_t version, int default_threads,
                                                        ServerMetrics& server_metrics,
                                                        const generate::SchedulerLimits& generation_limits = {});

}  // namespace tessera::serve
