// The dynamic-batching policy.
#include "serve/batch_planner.h"

#include <algorithm>

namespace tessera::serve {

BatchDecision PlanBatch(const std::deque<std::shared_ptr<PendingInference>>& queue, const BatchingPolicy& policy,
                        Clock::time_point now, bool flush) {
  BatchDecision d;
  const PendingInference& front = *queue.front();
  if (!policy.dynamic || front.request.merge_key.empty()) {
    d.take = {0};
    return d;
  }
  std::vector<size_t> members;
  int64_t rows = 0;
  size_t preferred_prefix = 0;  // length of the longest prefix of `members` whose rows is a preferred size
  bool full = false;
  for (size_t i = 0; i < queue.size(); ++i) {
    const ValidatedRequest& r = queue[i]->request;
    if (r.merge_key != front.request.merge_key) continue;
    if (policy.max_batch_size > 0 && rows + r.rows > policy.max_batch_size) {
      full = true;  // the next compatible request does not fit: waiting cannot make this batch larger
      break;
    }
    members.push_back(i);
    rows += r.rows;
    if (std::binary_search(policy.preferred_sizes.begin(), policy.preferred_sizes.end(), rows))
      preferred_prefix = members.size();
    if (policy.max_batch_size > 0 && rows == policy.max_batch_size) {
      full = true;
      break;
    }
  }
  Clock::time_point due = front.arrival + policy.max_queue_delay;
  if (full || flush || now >= due) {
    d.take = std::move(members);
  } else if (preferred_prefix > 0) {
    members.resize(preferred_prefix);
    d.take = std::move(members);
  } else {
    d.wait_until = due;
  }
  return d;
}

}  // namespace tessera::serve
