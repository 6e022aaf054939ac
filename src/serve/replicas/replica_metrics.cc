// RenderReplicaMetrics (replica_metrics.h).
#include "serve/replicas/replica_metrics.h"

namespace tessera::serve::replicas {

namespace {

// A label value with Prometheus's escapes (backslash, double quote, newline).
std::string LabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    out += c == '\n' ? std::string("\\n") : std::string(1, c);
  }
  return out;
}

template <typename Value>
void PerReplica(const std::vector<ReplicaStatus>& replicas, const char* name, const char* type, const char* help,
                Value value, std::string& out) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  for (const ReplicaStatus& r : replicas) {
    out += std::string(name) + "{replica=\"" + LabelValue(r.url) + "\"} " + std::to_string(value(r)) + "\n";
  }
}

void Single(const char* name, const char* type, const char* help, uint64_t value, std::string& out) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
         std::to_string(value) + "\n";
}

}  // namespace

std::string RenderReplicaMetrics(const std::vector<ReplicaStatus>& replicas, uint64_t retries) {
  std::string out;
  uint64_t healthy = 0;
  for (const ReplicaStatus& r : replicas) healthy += r.healthy ? 1 : 0;
  Single("tessera_replicas_total", "gauge", "Worker processes this server routes to.", replicas.size(), out);
  Single("tessera_replicas_healthy", "gauge", "Worker processes up now.", healthy, out);
  PerReplica(replicas, "tessera_replica_up", "gauge", "Whether the replica is up (1) or down (0).",
             [](const ReplicaStatus& r) { return r.healthy ? 1 : 0; }, out);
  PerReplica(replicas, "tessera_replica_outstanding_requests", "gauge", "Requests sent and not yet answered.",
             [](const ReplicaStatus& r) { return r.outstanding; }, out);
  PerReplica(replicas, "tessera_replica_requests_total", "counter", "Requests sent to the replica.",
             [](const ReplicaStatus& r) { return r.requests; }, out);
  PerReplica(replicas, "tessera_replica_failures_total", "counter", "Requests that got no answer from the replica.",
             [](const ReplicaStatus& r) { return r.failures; }, out);
  Single("tessera_replica_retries_total", "counter", "Requests sent again to another replica.", retries, out);
  return out;
}

}  // namespace tessera::serve::replicas
