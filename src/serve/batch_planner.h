// PendingInference (a validated request waiting for its answer) and PlanBatch, the dynamic-batching
// decision: which queued requests run together now, or how long to wait for more.
//
// PlanBatch is a pure function of the queue, the policy and the clock, so the policy is tested without
// threads or timing.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <vector>

#include "serve/request_validation.h"

namespace tessera::serve {

using Clock = std::chrono::steady_clock;

struct PendingInference {
  ValidatedRequest request;
  Clock::time_point arrival;
  Clock::time_point deadline = Clock::time_point::max();
  std::atomic<bool> abandoned{false};  // set by the caller once it stopped waiting (timed out)
  // The requested outputs (in the order of request.output_indices), or why the request failed.
  std::promise<StatusOr<std::vector<Tensor>>> result;
};

struct BatchingPolicy {
  bool dynamic = false;                  // merge compatible requests; off = every request runs alone
  int64_t max_batch_size = 0;            // rows per merged run; 0 = no limit
  std::vector<int64_t> preferred_sizes;  // sorted ascending
  std::chrono::microseconds max_queue_delay{0};
  size_t max_queue_size = 0;  // requests beyond this many waiting are refused; 0 = no limit
};

struct BatchDecision {
  std::vector<size_t> take;      // queue indices to run together now, ascending; empty = wait
  Clock::time_point wait_until;  // when `take` is empty: decide again at this time (or on arrival)
};

// The batch to form from `queue` (non-empty), always led by its oldest request. Requests join it in
// arrival order when they share its merge key and fit under max_batch_size. The batch runs at once when
// it is full, when it reaches a preferred size (the largest one reachable), when the oldest request has
// waited max_queue_delay, or when `flush` is set (the queue is shutting down).
BatchDecision PlanBatch(const std::deque<std::shared_ptr<PendingInference>>& queue, const BatchingPolicy& policy,
                        Clock::time_point now, bool flush);

}  // namespace tessera::serve
