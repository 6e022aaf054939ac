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

// {"healthy": n, "total": n, "replicas": [{"url", "state": "UP"|"DOWN", "outstanding", "requests", "failures",
// "last_failure"}]}, the body of /v2/replicas (a routing server's workers).
std::string EncodeReplicas(const std::vector<ReplicaStatus>& replicas);

// {"error": message}, the protocol's error body.
std::string EncodeError(const std::string& message);

// The client's side, for a server that forwards to other Tessera servers (serve/replicas/): the bodies
// above read back. InvalidArgument naming the field for a body that does not have their shape.
StatusOr<ServerMetadata> DecodeServerMetadata(const std::string& body);
StatusOr<ModelMetadata> DecodeModelMetadata(const std::string& body);
StatusOr<std::vector<RepositoryEntry>> DecodeRepositoryIndex(const std::string& body);
// The message of an {"error": message} body; the body itself (cut to 300 bytes) when it has no such shape.
std::string DecodeErrorMessage(const std::string& body);

}  // namespace tessera::serve::http
