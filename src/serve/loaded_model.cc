// Loading one model version: config, plan, instances, queue.
#include "serve/loaded_model.h"

#include <fstream>
#include <sstream>

namespace tessera::serve {

namespace {

constexpr size_t kMaxConfigBytes = 1 << 20;

}  // namespace

StatusOr<ModelConfig> ReadModelConfig(const ModelFolder& folder) {
  if (!folder.config_path) return ModelConfig{};
  std::ifstream in(*folder.config_path, std::ios::binary);
  if (!in) return IoError("model '" + folder.name + "': cannot read " + *folder.config_path);
  std::string text(kMaxConfigBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxConfigBytes)
    return InvalidArgument("model '" + folder.name + "': config.json is larger than 1 MiB");
  return ParseModelConfig(text, folder.name);
}

StatusOr<std::shared_ptr<LoadedModel>> LoadModelVersion(const ModelFolder& folder, const ModelConfig& config,
                                                        int64_t version, int default_threads,
                                                        ServerMetrics& server_metrics,
                                                        const generate::SchedulerLimits& generation_limits) {
  auto it = folder.versions.find(version);
  if (it == folder.versions.end())
    return NotFound("model '" + folder.name + "' has no version " + std::to_string(version));
  const std::string& path = it->second;
  const std::string label = "model '" + folder.name + "' version " + std::to_string(version);
  if (IsDecoderFolder(path)) {
    auto model = std::make_shared<LoadedModel>();
    model->signature.model_name = folder.name;
    model->signature.version = std::to_string(version);
    model->metrics = server_metrics.ForModel(folder.name, model->signature.version);
    TS_ASSIGN_OR_RETURN(model->generation,
                        GenerationModel::Load(folder.name, model->signature.version, path, config.parallel,
                                              InstanceThreads(config, default_threads), generation_limits,
                                              model->metrics));
    return model;
  }

  // The first instance is created before the plan is final: its signature decides whether the model
  // batches. It becomes instance 0.
  ServingPlan provisional;
  provisional.parallel = config.parallel;
  provisional.threads = InstanceThreads(config, default_threads);
  std::vector<std::unique_ptr<ModelRunner>> runners;
  {
    auto first = CreateModelRunner(path, provisional, folder.name);
    if (!first.ok()) return first.status().WithContext(label);
    runners.push_back(std::move(*first));
  }
  auto model = std::make_shared<LoadedModel>();
  TS_ASSIGN_OR_RETURN(model->plan, ResolveModelConfig(config, runners[0]->inputs(), runners[0]->outputs(), folder.name,
                                                      default_threads));
  for (int i = 1; i < model->plan.instance_count; ++i) {
    auto runner = CreateModelRunner(path, model->plan, folder.name);
    if (!runner.ok()) return runner.status().WithContext(label);
    runners.push_back(std::move(*runner));
  }

  ModelSignature& sig = model->signature;
  sig.model_name = folder.name;
  sig.version = std::to_string(version);
  sig.inputs = runners[0]->inputs();
  sig.outputs = runners[0]->outputs();
  sig.batchable = model->plan.batchable;
  sig.max_batch_size = model->plan.max_batch_size;

  BatchingPolicy policy;
  policy.max_queue_size = static_cast<size_t>(model->plan.max_queue_size);
  if (model->plan.dynamic_batching) {
    policy.dynamic = true;
    policy.max_batch_size = model->plan.max_batch_size;
    policy.preferred_sizes = model->plan.dynamic_batching->preferred_batch_sizes;
    policy.max_queue_delay = std::chrono::microseconds(model->plan.dynamic_batching->max_queue_delay_us);
  }
  model->metrics = server_metrics.ForModel(sig.model_name, sig.version);
  std::vector<std::atomic<double>*> busy;
  for (size_t i = 0; i < runners.size(); ++i) busy.push_back(server_metrics.InstanceBusy(model->metrics, i));
  model->queue =
      std::make_unique<ModelQueue>(label, std::move(policy), std::move(runners), model->metrics, std::move(busy));
  TS_RETURN_IF_ERROR(model->queue->start_status());
  return model;
}

}  // namespace tessera::serve
