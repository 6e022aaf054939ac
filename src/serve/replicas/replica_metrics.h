// The routing server's series, in Prometheus text (its /metrics; the workers keep their own):
//   tessera_replicas_total, tessera_replicas_healthy                gauges
//   tessera_replica_up{replica="URL"}                               gauge, 1 or 0
//   tessera_replica_outstanding_requests{replica="URL"}             gauge
//   tessera_replica_requests_total{replica="URL"}                   counter: requests sent to it
//   tessera_replica_failures_total{replica="URL"}                   counter: requests that got no answer
//   tessera_replica_retries_total                                   counter: requests sent again elsewhere
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "serve/inference_service.h"

namespace tessera::serve::replicas {

std::string RenderReplicaMetrics(const std::vector<ReplicaStatus>& replicas, uint64_t retries);

}  // namespace tessera::serve::replicas
