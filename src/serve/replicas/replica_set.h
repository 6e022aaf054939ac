// ReplicaSet: the worker processes a routing server sends requests to, with their health.
//
// A replica is up or down. It goes down at once when a request to it gets no answer (MarkDown) or a
// health probe fails; it comes back (the same address, e.g. a restarted process) when a probe of its
// /v2/health/ready answers 200 again. Probes run on a thread of their own every `health_interval` once
// StartHealthChecks is called; CheckHealth probes every replica once, now (at start, and in tests).
//
// Acquire picks the healthy replica with the fewest requests outstanding (ties go round robin) and
// holds one outstanding request on it until the lease ends.
//
// Thread safety: every method may be called from many threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "serve/inference_service.h"
#include "serve/replicas/replica_transport.h"

namespace tessera::serve::replicas {

class ReplicaSet;

// One request outstanding on one replica; ends (and frees the slot) when destroyed.
class ReplicaLease {
 public:
  ReplicaLease(ReplicaSet& set, size_t index) : set_(&set), index_(index) {}
  ReplicaLease(ReplicaLease&& other) noexcept : set_(other.set_), index_(other.index_) { other.set_ = nullptr; }
  ReplicaLease& operator=(ReplicaLease&&) = delete;
  ~ReplicaLease();

  size_t index() const { return index_; }
  ReplicaTransport& transport() const;
  const std::string& url() const;

 private:
  ReplicaSet* set_;
  size_t index_;
};

class ReplicaSet {
 public:
  struct Member {
    std::string url;
    std::unique_ptr<ReplicaTransport> transport;
  };
  explicit ReplicaSet(std::vector<Member> members);
  ~ReplicaSet();  // stops the health checks

  void StartHealthChecks(std::chrono::milliseconds interval);
  void CheckHealth();

  // The least loaded healthy replica other than `excluded`; nullopt when there is none.
  std::optional<ReplicaLease> Acquire(std::optional<size_t> excluded = std::nullopt);
  // A request to replica `index` got no answer: it is down until a probe says otherwise.
  void MarkDown(size_t index, const std::string& why);

  size_t size() const { return replicas_.size(); }
  size_t healthy() const;
  const std::string& url(size_t index) const { return replicas_[index]->url; }
  ReplicaTransport& transport(size_t index) const { return *replicas_[index]->transport; }
  std::vector<ReplicaStatus> Statuses() const;

  // A request sent again to another replica after its first one failed.
  void CountRetry() { retries_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t retries() const { return retries_.load(std::memory_order_relaxed); }

 private:
  friend class ReplicaLease;
  struct Replica {
    std::string url;
    std::unique_ptr<ReplicaTransport> transport;
    std::atomic<bool> up{false};
    std::atomic<int64_t> outstanding{0};
    std::atomic<uint64_t> requests{0};
    std::atomic<uint64_t> failures{0};
    std::mutex mu;             // guards last_failure
    std::string last_failure;
  };
  void Release(size_t index) { replicas_[index]->outstanding.fetch_sub(1); }
  void HealthLoop(std::chrono::milliseconds interval);

  std::vector<std::unique_ptr<Replica>> replicas_;
  std::atomic<size_t> next_{0};  // where the search for the least loaded starts: spreads ties
  std::atomic<uint64_t> retries_{0};

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread health_thread_;
};

}  // namespace tessera::serve::replicas
