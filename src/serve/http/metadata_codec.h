// JSON bodies of the protocol's non-inference endpoints: server and model metadata (KServe v2), the
// model repository index (Triton's repository extension) and error bodies.
#pragma once

#include <string>
#include <vector>

#include "serve/inference_service.h"

namespace tessera::serve::http {

// {"name": ..., "version": ..., "extensions": [...]}
std::string EncodeServerMetadata(const ServerMetadata& metadata);

// {"name", "versions", "platform", "inputs": [{"name", "datatype", "shape"}], "outputs": [...]}
std::string EncodeModelMetadata(const ModelMetadata& metadata);

// [{"name", "version", "state", "reason"}]; version and reason are left out when empty, as Triton does.
std::string EncodeRepositoryIndex(const std::vector<RepositoryEntry>& entries);

// The repository index request body: empty or {"ready": bool}. Returns whether only ready models are wanted.
StatusOr<bool> DecodeRepositoryIndexRequest(const std::string& body);

// {"name": model, "ready": bool}, the body of a model readiness answer.
std::string EncodeModelReady(const std::string& model, bool ready);

// {"error": message}, the protocol's error body.
std::string EncodeError(const std::string& message);

}  // namespace tessera::serve::http
