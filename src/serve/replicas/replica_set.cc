// ReplicaSet (replica_set.h): health state, probes and the choice of replica.
#include "serve/replicas/replica_set.h"

#include <limits>

namespace tessera::serve::replicas {

ReplicaLease::~ReplicaLease() {
  if (set_) set_->Release(index_);
}

ReplicaTransport& ReplicaLease::transport() const { return set_->transport(index_); }
const std::string& ReplicaLease::url() const { return set_->url(index_); }

ReplicaSet::ReplicaSet(std::vector<Member> members) {
  for (Member& m : members) {
    auto r = std::make_unique<Replica>();
    r->url = std::move(m.url);
    r->transport = std::move(m.transport);
    replicas_.push_back(std::move(r));
  }
}

ReplicaSet::~ReplicaSet() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (health_thread_.joinable()) health_thread_.join();
}

void ReplicaSet::StartHealthChecks(std::chrono::milliseconds interval) {
  health_thread_ = std::thread([this, interval] { HealthLoop(interval); });
}

void ReplicaSet::HealthLoop(std::chrono::milliseconds interval) {
  std::unique_lock<std::mutex> lock(stop_mu_);
  while (!stopping_) {
    lock.unlock();
    CheckHealth();
    lock.lock();
    stop_cv_.wait_for(lock, interval, [this] { return stopping_; });
  }
}

void ReplicaSet::CheckHealth() {
  for (size_t i = 0; i < replicas_.size(); ++i) {
    Replica& r = *replicas_[i];
    const bool ready = r.transport->Ready();
    const bool was_up = r.up.exchange(ready);
    if (was_up && !ready) {
      r.transport->DropConnections();
      std::lock_guard<std::mutex> lock(r.mu);
      r.last_failure = "health probe of /v2/health/ready failed";
    }
  }
}

std::optional<ReplicaLease> ReplicaSet::Acquire(std::optional<size_t> excluded) {
  const size_t n = replicas_.size();
  const size_t start = next_.fetch_add(1, std::memory_order_relaxed);
  std::optional<size_t> best;
  int64_t best_load = std::numeric_limits<int64_t>::max();
  for (size_t k = 0; k < n; ++k) {
    const size_t i = (start + k) % n;
    const Replica& r = *replicas_[i];
    if (i == excluded || !r.up.load()) continue;
    const int64_t load = r.outstanding.load();
    if (load < best_load) {
      best = i;
      best_load = load;
    }
  }
  if (!best) return std::nullopt;
  replicas_[*best]->outstanding.fetch_add(1);
  replicas_[*best]->requests.fetch_add(1, std::memory_order_relaxed);
  return ReplicaLease(*this, *best);
}

void ReplicaSet::MarkDown(size_t index, const std::string& why) {
  Replica& r = *replicas_[index];
  r.failures.fetch_add(1, std::memory_order_relaxed);
  r.up.store(false);
  r.transport->DropConnections();
  std::lock_guard<std::mutex> lock(r.mu);
  r.last_failure = why;
}

size_t ReplicaSet::healthy() const {
  size_t n = 0;
  for (const auto& r : replicas_) n += r->up.load() ? 1 : 0;
  return n;
}

std::vector<ReplicaStatus> ReplicaSet::Statuses() const {
  std::vector<ReplicaStatus> out;
  for (const auto& r : replicas_) {
    ReplicaStatus s;
    s.url = r->url;
    s.healthy = r->up.load();
    s.outstanding = r->outstanding.load();
    s.requests = r->requests.load(std::memory_order_relaxed);
    s.failures = r->failures.load(std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(r->mu);
    s.last_failure = r->last_failure;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace tessera::serve::replicas
