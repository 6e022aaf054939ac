// The routing server of `tessera serve --replicas URL,URL,...`: an InferenceServer that owns no model and
// forwards every request to worker `tessera serve` processes over HTTP (KServe v2 with the binary tensor
// extension; the OpenAI-compatible endpoints as they came), so the same front ends (HTTP, gRPC, TLS,
// bearer token) serve clients while workers die and come back (docs/serving.md, "Replicas and failover").
//
// Inference, metadata, readiness and the repository index go to one healthy replica through the
// ReplicaRouter (retry policy there); load and unload go to every healthy replica. Ready while at least
// one replica is up. Replicas() and /metrics (replica_metrics.h) show each replica's state.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "serve/inference_server.h"
#include "serve/replicas/http_replica.h"
#include "serve/replicas/replica_set.h"

namespace tessera::serve::replicas {

struct ReplicaServiceOptions {
  std::vector<std::string> urls;  // "http://HOST:PORT" or "https://HOST:PORT" of each worker
  HttpReplicaOptions http;
  std::chrono::milliseconds health_interval{200};
};

// InvalidArgument naming the first URL that is not http(s)://HOST:PORT or is given twice, or for no URL.
Status CheckReplicaUrls(const std::vector<std::string>& urls);

// Probes every replica once before returning (a server started beside running workers is ready at
// once) and then every health_interval. InvalidArgument for a bad URL or an empty list.
StatusOr<std::unique_ptr<InferenceServer>> CreateReplicaService(const ReplicaServiceOptions& options);

// Over replicas already set up (tests put fake transports in them); starts no health checks.
std::unique_ptr<InferenceServer> MakeReplicaService(std::unique_ptr<ReplicaSet> replicas);

}  // namespace tessera::serve::replicas
