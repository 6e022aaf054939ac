// InferenceService: what a front end (HTTP/REST, gRPC) asks of the server, independent of the wire.
//
// Both protocols of the open inference protocol (KServe v2) map one-to-one onto these calls, so the two
// front ends share every behaviour: the same models, the same errors, the same batching. A front end
// only translates bytes to these structs and Status codes to its protocol's codes (serve/status_mapping.h).
//
// Thread safety: every method may be called from many front-end threads at once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tessera/status.h"
#include "tessera/tensor.h"

namespace tessera::serve {

class GenerationModel;  // generation_model.h
class OpenAiRelay;      // openai_relay.h

struct NamedTensor {
  std::string name;
  Tensor tensor;
};

struct InferRequest {
  std::string model_name;
  std::string model_version;  // "" = the model's default (highest) version
  std::string id;             // echoed in the response; may be empty
  std::vector<NamedTensor> inputs;
  std::vector<std::string> requested_outputs;  // empty = every output, in the model's order
};

struct InferResponse {
  std::string model_name;
  std::string model_version;
  std::string id;
  std::vector<NamedTensor> outputs;
};

// A tensor as the model declares it; unknown dims are -1.
struct TensorMetadata {
  std::string name;
  DType dtype = DType::kUndefined;
  std::vector<int64_t> shape;
};

struct ModelMetadata {
  std::string name;
  std::vector<std::string> versions;
  std::string platform = "onnx";
  std::vector<TensorMetadata> inputs;
  std::vector<TensorMetadata> outputs;
};

struct ServerMetadata {
  std::string name = "tessera";
  std::string version;
  std::vector<std::string> extensions;
};

// One row of the repository index: every model folder, loaded or not.
struct RepositoryEntry {
  std::string name;
  std::string version;  // "" when the model is not loaded
  std::string state;    // "READY", "UNAVAILABLE", "LOADING", "UNLOADING"
  std::string reason;   // why it is not ready, when it is not
};

// One worker process of a routing server (`tessera serve --replicas`), as /v2/replicas and /metrics show it.
struct ReplicaStatus {
  std::string url;
  bool healthy = false;
  int64_t outstanding = 0;  // requests sent to it and not answered yet
  uint64_t requests = 0;    // requests sent to it
  uint64_t failures = 0;    // requests that got no answer from it
  std::string last_failure;
};

class InferenceService {
 public:
  virtual ~InferenceService() = default;

  virtual bool Live() const = 0;
  // Ready to take inferences: every model the server was asked to load has loaded, not shutting down.
  virtual bool Ready() const = 0;
  virtual ServerMetadata GetServerMetadata() const = 0;

  // NotFound for an unknown model or version.
  virtual StatusOr<bool> ModelReady(const std::string& name, const std::string& version) const = 0;
  virtual StatusOr<ModelMetadata> GetModelMetadata(const std::string& name, const std::string& version) const = 0;

  virtual std::vector<RepositoryEntry> RepositoryIndex() const = 0;
  virtual Status LoadModel(const std::string& name) = 0;
  virtual Status UnloadModel(const std::string& name) = 0;

  // Blocks until the request has run (possibly batched with others) or failed. InvalidArgument for a
  // request that does not fit the model (names, dtypes, shapes, data sizes), NotFound for an unknown
  // model/version/output, Unavailable while shutting down, DeadlineExceeded past the time limit.
  virtual StatusOr<InferResponse> Infer(InferRequest request) = 0;

  // Generation models (decoders), served by the OpenAI-compatible endpoints; a front end holds the pointer
  // for the length of one request. FindGenerationModel: NotFound for an unknown model or one that is not
  // a decoder, Unavailable while it is not loaded or the server is shutting down.
  virtual std::vector<std::shared_ptr<GenerationModel>> GenerationModels() const { return {}; }
  virtual StatusOr<std::shared_ptr<GenerationModel>> FindGenerationModel(const std::string& name) const {
    return NotFound("no generation model named '" + name + "'");
  }

  // A server that routes to worker processes instead of running models (serve/replicas/): its replicas,
  // and the relay that serves the OpenAI-compatible endpoints in place of GenerationModels. A server that
  // runs its own models has no replicas and no relay.
  virtual std::vector<ReplicaStatus> Replicas() const { return {}; }
  virtual OpenAiRelay* openai_relay() { return nullptr; }

  // Prometheus text exposition of the server's metrics (served at /metrics).
  virtual std::string MetricsText() const = 0;
};

}  // namespace tessera::serve
