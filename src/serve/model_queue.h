// ModelQueue: the queue of one loaded model version and the instances that serve it.
//
// Each instance is a ModelRunner with a thread of its own. An idle instance takes the oldest request,
// lets PlanBatch decide which queued requests join it (dynamic batching), concatenates their inputs along
// dim 0, runs the model once and splits the outputs back by each request's rows. A merged run that fails
// is retried request by request, so one bad request never fails the others it was batched with.
//
// Thread safety: Enqueue and Stop may be called from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "serve/batch_planner.h"
#include "serve/model_runner.h"
#include "serve/server_metrics.h"

namespace tessera::serve {

class ModelQueue {
 public:
  // Starts one thread per runner. `busy[i]` accumulates the run time of runner i. Check start_status().
  ModelQueue(std::string model_label, BatchingPolicy policy, std::vector<std::unique_ptr<ModelRunner>> runners,
             std::shared_ptr<ModelMetrics> metrics, std::vector<std::atomic<double>*> busy);
  ~ModelQueue();  // Stop()
  ModelQueue(const ModelQueue&) = delete;
  ModelQueue& operator=(const ModelQueue&) = delete;

  // Queues `pending`; its result is set once it has run or failed. Unavailable once Stop has begun or
  // when max_queue_size requests are already waiting.
  Status Enqueue(std::shared_ptr<PendingInference> pending);

  // ResourceExhausted when the instance threads could not all be started (the queue is then stopped).
  const Status& start_status() const { return start_status_; }

  // Refuses new requests, runs every queued one to completion (without waiting for more to batch), and
  // joins the instance threads. Idempotent.
  void Stop();

 private:
  void InstanceLoop(size_t index);
  void FailExpired(Clock::time_point now);  // with mu_ held
  void RunBatch(ModelRunner& runner, std::atomic<double>* busy,
                const std::vector<std::shared_ptr<PendingInference>>& batch);
  // Runs `batch` as one model run; the per-request outputs, or the run's error.
  StatusOr<std::vector<std::vector<Tensor>>> RunMerged(ModelRunner& runner, std::atomic<double>* busy,
                                                       const std::vector<std::shared_ptr<PendingInference>>& batch);

  const std::string model_label_;  // "model 'm' version 1", for messages
  const BatchingPolicy policy_;
  std::vector<std::unique_ptr<ModelRunner>> runners_;
  std::shared_ptr<ModelMetrics> metrics_;
  std::vector<std::atomic<double>*> busy_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<PendingInference>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  std::once_flag join_once_;
  Status start_status_;
};

}  // namespace tessera::serve
