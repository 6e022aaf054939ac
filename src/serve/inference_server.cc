// The inference server: model slots over the repository, request routing, drain and readiness.
//
// Locking: `mu_` guards the slot table and the in-flight count and is held only for lookups; `load_mu_`
// serialises loads and unloads (which take seconds) so they never hold `mu_` while reading a model. A
// request holds a shared_ptr to its LoadedModel, so an unload can swap the model out while the request
// finishes on the old one.
#include "serve/inference_server.h"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>

#include "serve/loaded_model.h"
#include "serve/model_repository.h"

namespace tessera::serve {

namespace {

constexpr const char* kServerVersion = "0.1.0";

TensorMetadata ToMetadata(const TensorInfo& info) {
  TensorMetadata m;
  m.name = info.name;
  m.dtype = info.dtype;
  m.shape = info.dims;  // -1 for dynamic dims; empty when the model declares no shape
  return m;
}

class Server : public InferenceServer {
 public:
  Server(ModelRepository repo, const ServerOptions& options) : repo_(std::move(repo)), options_(options) {}
  ~Server() override;

  Status Start();

  bool Live() const override { return true; }
  bool Ready() const override;
  ServerMetadata GetServerMetadata() const override;
  StatusOr<bool> ModelReady(const std::string& name, const std::string& version) const override;
  StatusOr<ModelMetadata> GetModelMetadata(const std::string& name, const std::string& version) const override;
  std::vector<RepositoryEntry> RepositoryIndex() const override;
  Status LoadModel(const std::string& name) override;
  Status UnloadModel(const std::string& name) override;
  StatusOr<InferResponse> Infer(InferRequest request) override;
  std::string MetricsText() const override { return metrics_.Text(); }
  std::vector<std::shared_ptr<GenerationModel>> GenerationModels() const override;
  StatusOr<std::shared_ptr<GenerationModel>> FindGenerationModel(const std::string& name) const override;
  void Drain() override;

 private:
  struct ModelSlot {
    std::string state = "UNAVAILABLE";
    std::string reason;
    std::map<int64_t, std::shared_ptr<LoadedModel>> versions;  // loaded versions; the highest is the default
  };

  // The loaded model a request names: NotFound for an unknown model or version, Unavailable for a model
  // that is not loaded. With mu_ held.
  StatusOr<std::shared_ptr<LoadedModel>> Find(const std::string& name, const std::string& version) const;
  // The versions the model's config selects, each loaded with its instances started.
  StatusOr<std::map<int64_t, std::shared_ptr<LoadedModel>>> LoadVersions(const ModelFolder& folder);
  StatusOr<InferResponse> InferLoaded(LoadedModel& model, InferRequest& request);
  void SetSlot(const std::string& name, std::string state, std::string reason);

  const ModelRepository repo_;
  const ServerOptions options_;
  ServerMetrics metrics_;

  std::mutex load_mu_;
  mutable std::mutex mu_;
  std::condition_variable drained_cv_;
  std::map<std::string, ModelSlot> slots_;
  int64_t inflight_ = 0;
  bool draining_ = false;
  bool startup_loaded_ = false;
};

Server::~Server() {
  std::map<std::string, ModelSlot> slots;
  {
    std::lock_guard<std::mutex> lock(mu_);
    slots.swap(slots_);
  }
  for (auto& [name, slot] : slots) {
    for (auto& [version, model] : slot.versions) model->StopServing();
  }
}

Status Server::Start() {
  std::vector<std::string> names = options_.load_models.empty() ? repo_.ListModels() : options_.load_models;
  bool all_loaded = true;
  for (const std::string& name : names) {
    Status s = LoadModel(name);
    if (!s.ok()) {
      // A model asked for by name that does not exist is a mistake on the command line; a model that
      // fails to load leaves the server up but not ready, with the reason in the repository index.
      if (!options_.load_models.empty() &&
          (s.code() == StatusCode::kNotFound || s.code() == StatusCode::kInvalidArgument) && !repo_.Locate(name).ok()) {
        return s;
      }
      all_loaded = false;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  startup_loaded_ = all_loaded;
  return Status::Ok();
}

bool Server::Ready() const {
  std::lock_guard<std::mutex> lock(mu_);
  return startup_loaded_ && !draining_;
}

ServerMetadata Server::GetServerMetadata() const {
  ServerMetadata m;
  m.version = kServerVersion;
  m.extensions = {"model_repository"};
  return m;
}

void Server::SetSlot(const std::string& name, std::string state, std::string reason) {
  std::lock_guard<std::mutex> lock(mu_);
  ModelSlot& slot = slots_[name];
  slot.state = std::move(state);
  slot.reason = std::move(reason);
}

StatusOr<std::shared_ptr<LoadedModel>> Server::Find(const std::string& name, const std::string& version) const {
  auto it = slots_.find(name);
  if (it == slots_.end()) return NotFound("unknown model '" + PrintableName(name) + "'");
  const ModelSlot& slot = it->second;
  if (slot.versions.empty()) {
    return Unavailable("model '" + name + "' is not loaded (" + slot.state +
                       (slot.reason.empty() ? "" : ": " + slot.reason) + ")");
  }
  if (version.empty()) return slot.versions.rbegin()->second;
  for (const auto& [number, model] : slot.versions) {
    if (model->signature.version == version) return model;
  }
  std::string loaded;
  for (const auto& [number, model] : slot.versions) loaded += (loaded.empty() ? "" : ", ") + model->signature.version;
  return NotFound("model '" + name + "' has no version '" + PrintableName(version) + "' loaded (loaded: " + loaded +
                  ")");
}

StatusOr<bool> Server::ModelReady(const std::string& name, const std::string& version) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto found = Find(name, version);
    if (found.ok()) return slots_.at(name).state == "READY";
    if (found.status().code() == StatusCode::kUnavailable && version.empty()) return false;
  }
  // Not loaded: a model or version that exists on disk is "not ready"; anything else is unknown.
  auto folder = repo_.Locate(name);
  if (!folder.ok()) return NotFound("unknown model '" + PrintableName(name) + "'");
  if (version.empty()) return false;
  for (const auto& [number, path] : folder->versions) {
    if (std::to_string(number) == version) return false;
  }
  return NotFound("model '" + name + "' has no version '" + PrintableName(version) + "'");
}

StatusOr<ModelMetadata> Server::GetModelMetadata(const std::string& name, const std::string& version) const {
  std::lock_guard<std::mutex> lock(mu_);
  TS_ASSIGN_OR_RETURN(std::shared_ptr<LoadedModel> model, Find(name, version));
  ModelMetadata m;
  m.name = name;
  if (model->generation) m.platform = "onnx_decoder";  // served for generation at /v1/completions
  for (const auto& [number, loaded] : slots_.at(name).versions) m.versions.push_back(loaded->signature.version);
  for (const TensorInfo& i : model->signature.inputs) m.inputs.push_back(ToMetadata(i));
  for (const TensorInfo& o : model->signature.outputs) m.outputs.push_back(ToMetadata(o));
  return m;
}

std::vector<RepositoryEntry> Server::RepositoryIndex() const {
  std::vector<std::string> names = repo_.ListModels();
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, slot] : slots_) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  std::vector<RepositoryEntry> index;
  for (const std::string& name : names) {
    auto it = slots_.find(name);
    if (it == slots_.end()) {
      index.push_back({name, "", "UNAVAILABLE", "not loaded"});
    } else if (it->second.versions.empty()) {
      index.push_back({name, "", it->second.state, it->second.reason});
    } else {
      for (const auto& [number, model] : it->second.versions) {
        index.push_back({name, model->signature.version, it->second.state, it->second.reason});
      }
    }
  }
  return index;
}

Status Server::LoadModel(const std::string& name) {
  TS_RETURN_IF_ERROR(ValidateModelName(name));
  std::lock_guard<std::mutex> load_lock(load_mu_);
  auto folder = repo_.Locate(name);
  if (!folder.ok()) return folder.status();
  if (!folder->problem.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    ModelSlot& slot = slots_[name];
    if (slot.versions.empty()) slot.state = "UNAVAILABLE";  // a loaded model keeps serving what it has
    slot.reason = folder->problem;
    return NotFound("model '" + name + "': " + folder->problem);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    // A model being reloaded keeps serving its current version until the new one is ready.
    if (slots_[name].versions.empty()) slots_[name].state = "LOADING";
  }
  auto loaded = LoadVersions(*folder);
  std::map<int64_t, std::shared_ptr<LoadedModel>> replaced;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ModelSlot& slot = slots_[name];
    if (!loaded.ok()) {
      if (slot.versions.empty()) slot.state = "UNAVAILABLE";
      slot.reason = loaded.status().message();
      return loaded.status();
    }
    replaced.swap(slot.versions);
    slot.versions = std::move(*loaded);
    slot.state = "READY";
    slot.reason.clear();
  }
  // Requests already queued on the replaced version finish there.
  for (auto& [number, model] : replaced) model->StopServing();
  return Status::Ok();
}

StatusOr<std::map<int64_t, std::shared_ptr<LoadedModel>>> Server::LoadVersions(const ModelFolder& folder) {
  TS_ASSIGN_OR_RETURN(ModelConfig config, ReadModelConfig(folder));
  std::vector<int64_t> available;
  for (const auto& [number, path] : folder.versions) available.push_back(number);
  TS_ASSIGN_OR_RETURN(std::vector<int64_t> selected, SelectVersions(config.version_policy, available, folder.name));
  std::map<int64_t, std::shared_ptr<LoadedModel>> loaded;
  for (int64_t version : selected) {
    TS_ASSIGN_OR_RETURN(loaded[version], LoadModelVersion(folder, config, version, options_.default_threads, metrics_,
                                                                    options_.generation));
  }
  return loaded;
}

Status Server::UnloadModel(const std::string& name) {
  TS_RETURN_IF_ERROR(ValidateModelName(name));
  std::lock_guard<std::mutex> load_lock(load_mu_);
  std::map<int64_t, std::shared_ptr<LoadedModel>> unloading;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = slots_.find(name);
    if (it == slots_.end()) {
      if (!repo_.Locate(name).ok()) return NotFound("unknown model '" + name + "'");
      return Status::Ok();  // never loaded: already unloaded
    }
    unloading.swap(it->second.versions);
    it->second.state = "UNLOADING";
    it->second.reason.clear();
  }
  // New requests now see the model as not loaded; queued and running ones finish before Stop returns.
  for (auto& [number, model] : unloading) model->StopServing();
  SetSlot(name, "UNAVAILABLE", "unloaded");
  return Status::Ok();
}

std::vector<std::shared_ptr<GenerationModel>> Server::GenerationModels() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<GenerationModel>> models;
  for (const auto& [name, slot] : slots_) {
    if (!slot.versions.empty() && slot.versions.rbegin()->second->generation) {
      models.push_back(slot.versions.rbegin()->second->generation);
    }
  }
  return models;
}

StatusOr<std::shared_ptr<GenerationModel>> Server::FindGenerationModel(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (draining_) return Unavailable("the server is shutting down");
  TS_ASSIGN_OR_RETURN(std::shared_ptr<LoadedModel> model, Find(name, ""));
  if (!model->generation) {
    return NotFound("model '" + name + "' is not a generation model (no decoder config files beside its graph); "
                    "use the KServe endpoints /v2/models/" + name + "/infer");
  }
  return model->generation;
}

void Server::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  draining_ = true;
  drained_cv_.wait(lock, [this] { return inflight_ == 0; });
}

StatusOr<InferResponse> Server::Infer(InferRequest request) {
  std::shared_ptr<LoadedModel> model;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (draining_) return Unavailable("the server is shutting down");
    TS_ASSIGN_OR_RETURN(model, Find(request.model_name, request.model_version));
    ++inflight_;
  }
  StatusOr<InferResponse> response = InferLoaded(*model, request);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (--inflight_ == 0) drained_cv_.notify_all();
  }
  return response;
}

StatusOr<InferResponse> Server::InferLoaded(LoadedModel& model, InferRequest& request) {
  Clock::time_point arrival = Clock::now();
  if (model.generation) {
    return InvalidArgument("model '" + model.signature.model_name + "' is a generation model (a decoder); use POST "
                           "/v1/completions or /v1/chat/completions");
  }
  ModelMetrics& metrics = *model.metrics;
  metrics.inflight.fetch_add(1);
  auto finish = [&](StatusOr<InferResponse> r) {
    metrics.request_seconds.Observe(std::chrono::duration<double>(Clock::now() - arrival).count());
    (r.ok() ? metrics.success : metrics.failure).fetch_add(1);
    metrics.inflight.fetch_sub(1);
    return r;
  };

  auto validated = ValidateRequest(model.signature, request);
  if (!validated.ok()) return finish(validated.status());
  auto pending = std::make_shared<PendingInference>();
  pending->request = std::move(*validated);
  pending->arrival = arrival;
  if (options_.request_timeout_ms > 0)
    pending->deadline = arrival + std::chrono::milliseconds(options_.request_timeout_ms);
  std::future<StatusOr<std::vector<Tensor>>> result = pending->result.get_future();
  Status queued = model.queue->Enqueue(pending);
  if (!queued.ok()) return finish(queued);
  if (result.wait_until(pending->deadline) != std::future_status::ready) {
    pending->abandoned.store(true);
    return finish(DeadlineExceeded("model '" + model.signature.model_name + "' version " + model.signature.version +
                                   ": no answer within " + std::to_string(options_.request_timeout_ms) + " ms"));
  }
  StatusOr<std::vector<Tensor>> outputs = result.get();
  if (!outputs.ok()) return finish(outputs.status());
  InferResponse response;
  response.model_name = model.signature.model_name;
  response.model_version = model.signature.version;
  response.id = std::move(request.id);
  const std::vector<size_t>& indices = pending->request.output_indices;
  for (size_t i = 0; i < indices.size(); ++i) {
    response.outputs.push_back({model.signature.outputs[indices[i]].name, std::move((*outputs)[i])});
  }
  return finish(std::move(response));
}

}  // namespace

StatusOr<std::unique_ptr<InferenceServer>> CreateInferenceServer(const ServerOptions& options) {
  std::optional<ModelRepository> repo;
  if (options.model_repo.empty()) {
    TS_ASSIGN_OR_RETURN(std::string example, FindBundledExampleModel());
    repo = ModelRepository::SingleModel("tiny_cnn", 1, example);
  } else {
    TS_ASSIGN_OR_RETURN(repo, ModelRepository::Open(options.model_repo));
  }
  auto server = std::make_unique<Server>(std::move(*repo), options);
  TS_RETURN_IF_ERROR(server->Start());
  return std::unique_ptr<InferenceServer>(std::move(server));
}

}  // namespace tessera::serve
