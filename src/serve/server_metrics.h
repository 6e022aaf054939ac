// ServerMetrics: counters and histograms of the inference server, rendered as Prometheus text.
//
// Recording is lock-free (atomics only) so it costs a few nanoseconds on the request path; the registry's
// mutex is taken only when a model version is loaded and when the text is rendered. Series are kept
// after a model is unloaded, so counters never go backwards for a scraper.
//
// Series (labels model and version on each):
//   tessera_requests_total{outcome="success|failure"}                 counter
//   tessera_request_queue_seconds, tessera_request_compute_seconds,
//   tessera_request_duration_seconds                                  histograms (_bucket, _sum, _count)
//   tessera_batch_size                                                histogram of rows per model run
//   tessera_inflight_requests                                         gauge
//   tessera_instance_busy_seconds_total{instance="0"}                 counter; a runner spread over
//                                                                      several processes adds a rank label
// Generation models (decoders, generation_model.h) add:
//   tessera_time_to_first_token_seconds, tessera_inter_token_seconds     histograms
//   tessera_generated_tokens_total                                    counter (rate() is tokens/s; counted
//                                                                      when each sequence ends)
//   tessera_generation_sequences_total{reason="length|stop_token|stop_string|cancelled"}  counter
//   tessera_running_sequences, tessera_waiting_sequences, tessera_kv_cache_bytes          gauges
//   plus whatever SetExtraMetrics renders (under mpirun: tessera_rank_busy_seconds_total{rank="1"})
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tessera::serve {

// A Prometheus histogram with fixed upper bounds.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  // Appends the _bucket, _sum and _count lines; `labels` is the text inside the braces, without them.
  void Render(const std::string& name, const std::string& labels, std::string& out) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // non-cumulative; one past the bounds for +Inf
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// The series of one model version.
struct ModelMetrics {
  ModelMetrics();
  std::atomic<uint64_t> success{0};
  std::atomic<uint64_t> failure{0};
  std::atomic<int64_t> inflight{0};
  Histogram queue_seconds;
  Histogram compute_seconds;
  Histogram request_seconds;
  Histogram batch_size;
  // Busy time of each instance; a deque so handed-out pointers stay valid as instances are added.
  std::deque<std::atomic<double>> instance_busy_seconds;

  // Generation models only (`generation` set at load); indexed by generate::StopReason.
  std::atomic<bool> generation{false};
  Histogram time_to_first_token_seconds;
  Histogram inter_token_seconds;
  std::atomic<uint64_t> generated_tokens{0};
  std::atomic<uint64_t> sequences_ended[4] = {0, 0, 0, 0};
  std::atomic<int64_t> running_sequences{0}, waiting_sequences{0}, kv_cache_bytes{0};
};

class ServerMetrics {
 public:
  // The series of `model` `version`, created on first use and shared afterwards (reloads keep counting).
  std::shared_ptr<ModelMetrics> ForModel(const std::string& model, const std::string& version);
  // The busy-seconds counter of instance `index` of that model version (created as needed).
  std::atomic<double>* InstanceBusy(const std::shared_ptr<ModelMetrics>& metrics, size_t index);
  std::string Text() const;

 private:
  struct Entry {
    std::string model, version;
    std::shared_ptr<ModelMetrics> metrics;
  };
  void RenderGeneration(std::string& out) const;  // with mu_ held

  mutable std::mutex mu_;
  std::vector<Entry> entries_;
};

// Series appended to every ServerMetrics::Text, for a part of the server that keeps its own counters
// (serve/distributed/: the busy time of each MPI rank of a model's group). An empty function = none.
void SetExtraMetrics(std::function<std::string()> render);

}  // namespace tessera::serve
