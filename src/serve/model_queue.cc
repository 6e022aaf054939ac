// Instance threads: batch formation, merged runs and the per-request answers.
#include "serve/model_queue.h"

#include <exception>
#include <system_error>

#include "core/tensor_slicing.h"

namespace tessera::serve {

namespace {

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The outputs a request asked for, in its order.
std::vector<Tensor> Select(const std::vector<Tensor>& outputs, const std::vector<size_t>& indices) {
  std::vector<Tensor> out;
  out.reserve(indices.size());
  for (size_t k : indices) out.push_back(outputs[k]);
  return out;
}

}  // namespace

ModelQueue::ModelQueue(std::string model_label, BatchingPolicy policy,
                       std::vector<std::unique_ptr<ModelRunner>> runners, std::shared_ptr<ModelMetrics> metrics,
                       std::vector<std::atomic<double>*> busy)
    : model_label_(std::move(model_label)),
      policy_(std::move(policy)),
      runners_(std::move(runners)),
      metrics_(std::move(metrics)),
      busy_(std::move(busy)) {
  try {
    for (size_t i = 0; i < runners_.size(); ++i) threads_.emplace_back([this, i] { InstanceLoop(i); });
  } catch (const std::system_error& e) {
    // The system refused another thread: stop the ones that started and report it from start_status().
    start_status_ = ResourceExhausted(model_label_ + ": cannot start instance thread " +
                                      std::to_string(threads_.size()) + ": " + e.what());
    Stop();
  }
}

ModelQueue::~ModelQueue() { Stop(); }

Status ModelQueue::Enqueue(std::shared_ptr<PendingInference> pending) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Unavailable(model_label_ + " is being unloaded");
    if (policy_.max_queue_size > 0 && queue_.size() >= policy_.max_queue_size) {
      return Unavailable(model_label_ + ": the queue is full (" + std::to_string(queue_.size()) +
                         " requests waiting, max_queue_size " + std::to_string(policy_.max_queue_size) + ")");
    }
    queue_.push_back(std::move(pending));
  }
  // Every instance re-plans: a waiting one may now have a full batch, an idle one may take the request.
  cv_.notify_all();
  return Status::Ok();
}

void ModelQueue::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  std::call_once(join_once_, [this] {
    for (std::thread& t : threads_) t.join();
  });
}

void ModelQueue::FailExpired(Clock::time_point now) {
  for (auto it = queue_.begin(); it != queue_.end();) {
    PendingInference& p = **it;
    if (p.abandoned.load() || now >= p.deadline) {
      p.result.set_value(DeadlineExceeded(model_label_ + ": the request timed out while queued"));
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
}

void ModelQueue::InstanceLoop(size_t index) {
  ModelRunner& runner = *runners_[index];
  std::atomic<double>* busy = busy_[index];
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    FailExpired(Clock::now());
    if (queue_.empty()) {
      if (stopping_) return;
      cv_.wait(lock);
      continue;
    }
    BatchDecision decision = PlanBatch(queue_, policy_, Clock::now(), stopping_);
    if (decision.take.empty()) {
      cv_.wait_until(lock, decision.wait_until);
      continue;
    }
    std::vector<std::shared_ptr<PendingInference>> batch;
    for (size_t i : decision.take) batch.push_back(queue_[i]);
    for (auto it = decision.take.rbegin(); it != decision.take.rend(); ++it) {
      queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(*it));
    }
    lock.unlock();
    RunBatch(runner, busy, batch);
    lock.lock();
  }
}

StatusOr<std::vector<std::vector<Tensor>>> ModelQueue::RunMerged(
    ModelRunner& runner, std::atomic<double>* busy, const std::vector<std::shared_ptr<PendingInference>>& batch) {
  Feeds feeds;
  int64_t rows = 0;
  for (const auto& p : batch) rows += p->request.rows;
  if (batch.size() == 1) {
    feeds = batch[0]->request.feeds;
  } else {
    for (size_t k = 0; k < batch[0]->request.feeds.size(); ++k) {
      std::vector<Tensor> parts;
      for (const auto& p : batch) parts.push_back(p->request.feeds[k].second);
      TS_ASSIGN_OR_RETURN(Tensor merged, ConcatAlongAxis(parts, 0));
      feeds.emplace_back(batch[0]->request.feeds[k].first, std::move(merged));
    }
  }
  Clock::time_point start = Clock::now();
  for (const auto& p : batch) metrics_->queue_seconds.Observe(Seconds(start - p->arrival));
  StatusOr<std::vector<Tensor>> outputs = Internal("the model run did not finish");
  try {
    outputs = runner.Run(feeds);
  } catch (const std::exception& e) {
    // Kernels report errors as Status; an exception here (an allocation failure in a container) must not
    // take the server down with it.
    outputs = Internal(model_label_ + ": the model run raised " + e.what());
  }
  double compute = Seconds(Clock::now() - start);
  busy->fetch_add(compute, std::memory_order_relaxed);
  metrics_->batch_size.Observe(static_cast<double>(rows));
  for (size_t i = 0; i < batch.size(); ++i) metrics_->compute_seconds.Observe(compute);
  if (!outputs.ok()) return outputs.status();

  std::vector<std::vector<Tensor>> per_request(batch.size());
  if (batch.size() == 1) {
    per_request[0] = std::move(*outputs);
    return per_request;
  }
  for (const Tensor& out : *outputs) {
    if (out.rank() == 0 || out.dim(0) != rows) {
      return Internal(model_label_ + ": an output of a merged batch of " + std::to_string(rows) + " rows has shape " +
                      ShapeToString(out.shape()) + ", which cannot be split back by rows");
    }
    int64_t begin = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
      int64_t end = begin + batch[i]->request.rows;
      TS_ASSIGN_OR_RETURN(Tensor part, SliceAlongAxis(out, 0, begin, end));
      per_request[i].push_back(std::move(part));
      begin = end;
    }
  }
  return per_request;
}

void ModelQueue::RunBatch(ModelRunner& runner, std::atomic<double>* busy,
                          const std::vector<std::shared_ptr<PendingInference>>& batch) {
  StatusOr<std::vector<std::vector<Tensor>>> outputs = RunMerged(runner, busy, batch);
  if (!outputs.ok() && batch.size() > 1) {
    // One request's data can make a merged run fail (an index out of range): run each alone so only that
    // request gets the error.
    for (const auto& p : batch) RunBatch(runner, busy, {p});
    return;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    PendingInference& p = *batch[i];
    if (outputs.ok()) {
      p.result.set_value(Select((*outputs)[i], p.request.output_indices));
    } else {
      p.result.set_value(outputs.status());
    }
  }
}

}  // namespace tessera::serve
