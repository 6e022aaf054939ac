// Metric recording and the Prometheus text exposition format (version 0.0.4).
#include "serve/server_metrics.h"

#include <cstdio>

namespace tessera::serve {

namespace {

// Latencies from 100 us to 10 s: a tiny model answers in well under a millisecond, a large one in seconds.
std::vector<double> LatencyBounds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> BatchBounds() { return {1, 2, 4, 8, 16, 32, 64, 128, 256}; }

std::string Number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Label values are model names (already restricted to [A-Za-z0-9_.-]) and versions; escape anyway so the
// exposition stays parseable whatever a name holds.
std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void Header(std::string& out, const std::string& name, const char* type, const char* help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

std::function<std::string()>& ExtraMetricsSlot() {
  static std::function<std::string()> render;
  return render;
}

std::mutex& ExtraMetricsMutex() {
  static std::mutex mu;
  return mu;
}

std::function<std::string()> ExtraMetrics() {
  std::lock_guard<std::mutex> lock(ExtraMetricsMutex());
  auto render = ExtraMetricsSlot();
  return render ? render : [] { return std::string(); };
}

}  // namespace

void SetExtraMetrics(std::function<std::string()> render) {
  std::lock_guard<std::mutex> lock(ExtraMetricsMutex());
  ExtraMetricsSlot() = std::move(render);
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void Histogram::Render(const std::string& name, const std::string& labels, std::string& out) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    std::string le = i < bounds_.size() ? Number(bounds_[i]) : "+Inf";
    out += name + "_bucket{" + labels + ",le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_sum{" + labels + "} " + Number(sum()) + "\n";
  // _count equals the +Inf bucket by definition; buckets are read one by one, so reuse that total.
  out += name + "_count{" + labels + "} " + std::to_string(cumulative) + "\n";
}

ModelMetrics::ModelMetrics()
    : queue_seconds(LatencyBounds()),
      compute_seconds(LatencyBounds()),
      request_seconds(LatencyBounds()),
      batch_size(BatchBounds()),
      time_to_first_token_seconds(LatencyBounds()),
      inter_token_seconds(LatencyBounds()) {}

std::shared_ptr<ModelMetrics> ServerMetrics::ForModel(const std::string& model, const std::string& version) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const Entry& e : entries_) {
    if (e.model == model && e.version == version) return e.metrics;
  }
  entries_.push_back({model, version, std::make_shared<ModelMetrics>()});
  return entries_.back().metrics;
}

std::atomic<double>* ServerMetrics::InstanceBusy(const std::shared_ptr<ModelMetrics>& metrics, size_t index) {
  std::lock_guard<std::mutex> lock(mu_);
  while (metrics->instance_busy_seconds.size() <= index) metrics->instance_busy_seconds.emplace_back(0.0);
  return &metrics->instance_busy_seconds[index];
}

std::string ServerMetrics::Text() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  auto labels = [](const Entry& e) {
    return "model=\"" + Escape(e.model) + "\",version=\"" + Escape(e.version) + "\"";
  };

  Header(out, "tessera_requests_total", "counter", "Inference requests answered, by outcome.");
  for (const Entry& e : entries_) {
    out += "tessera_requests_total{" + labels(e) + ",outcome=\"success\"} " +
           std::to_string(e.metrics->success.load()) + "\n";
    out += "tessera_requests_total{" + labels(e) + ",outcome=\"failure\"} " +
           std::to_string(e.metrics->failure.load()) + "\n";
  }
  struct Family {
    const char* name;
    const char* help;
    Histogram ModelMetrics::*histogram;
  };
  const Family families[] = {
      {"tessera_request_queue_seconds", "Time from a request's arrival in the model's queue to the start of its run.",
       &ModelMetrics::queue_seconds},
      {"tessera_request_compute_seconds", "Time of the model run that computed a request (its whole batch).",
       &ModelMetrics::compute_seconds},
      {"tessera_request_duration_seconds", "Time from a request's arrival to its answer.",
       &ModelMetrics::request_seconds},
      {"tessera_batch_size", "Rows (dim 0) per model run, after dynamic batching.", &ModelMetrics::batch_size},
  };
  for (const Family& f : families) {
    Header(out, f.name, "histogram", f.help);
    for (const Entry& e : entries_) ((*e.metrics).*f.histogram).Render(f.name, labels(e), out);
  }
  Header(out, "tessera_inflight_requests", "gauge", "Inference requests accepted and not yet answered.");
  for (const Entry& e : entries_)
    out += "tessera_inflight_requests{" + labels(e) + "} " + std::to_string(e.metrics->inflight.load()) + "\n";
  Header(out, "tessera_instance_busy_seconds_total", "counter", "Time each model instance spent running batches.");
  for (const Entry& e : entries_) {
    for (size_t i = 0; i < e.metrics->instance_busy_seconds.size(); ++i) {
      out += "tessera_instance_busy_seconds_total{" + labels(e) + ",instance=\"" + std::to_string(i) + "\"} " +
             Number(e.metrics->instance_busy_seconds[i].load()) + "\n";
    }
  }
  RenderGeneration(out);
  out += ExtraMetrics()();
  return out;
}

void ServerMetrics::RenderGeneration(std::string& out) const {
  std::vector<const Entry*> models;
  for (const Entry& e : entries_) {
    if (e.metrics->generation.load()) models.push_back(&e);
  }
  if (models.empty()) return;
  auto labels = [](const Entry& e) {
    return "model=\"" + Escape(e.model) + "\",version=\"" + Escape(e.version) + "\"";
  };
  Header(out, "tessera_time_to_first_token_seconds", "histogram",
         "Time from a generation request's acceptance to its first token.");
  for (const Entry* e : models) e->metrics->time_to_first_token_seconds.Render(
      "tessera_time_to_first_token_seconds", labels(*e), out);
  Header(out, "tessera_inter_token_seconds", "histogram", "Time between successive tokens of one sequence.");
  for (const Entry* e : models) e->metrics->inter_token_seconds.Render("tessera_inter_token_seconds", labels(*e), out);
  Header(out, "tessera_generated_tokens_total", "counter", "Tokens generated, counted as each sequence ends.");
  for (const Entry* e : models)
    out += "tessera_generated_tokens_total{" + labels(*e) + "} " + std::to_string(e->metrics->generated_tokens.load()) +
           "\n";
  Header(out, "tessera_generation_sequences_total", "counter", "Generated sequences, by how they ended.");
  const char* reasons[] = {"length", "stop_token", "stop_string", "cancelled"};
  for (const Entry* e : models) {
    for (size_t r = 0; r < 4; ++r) {
      out += "tessera_generation_sequences_total{" + labels(*e) + ",reason=\"" + reasons[r] + "\"} " +
             std::to_string(e->metrics->sequences_ended[r].load()) + "\n";
    }
  }
  struct Gauge {
    const char* name;
    const char* help;
    std::atomic<int64_t> ModelMetrics::*value;
  };
  const Gauge gauges[] = {
      {"tessera_running_sequences", "Sequences in the decode batch.", &ModelMetrics::running_sequences},
      {"tessera_waiting_sequences", "Generation requests waiting for admission.", &ModelMetrics::waiting_sequences},
      {"tessera_kv_cache_bytes", "Bytes held by the running sequences' KV caches.", &ModelMetrics::kv_cache_bytes},
  };
  for (const Gauge& g : gauges) {
    Header(out, g.name, "gauge", g.help);
    for (const Entry* e : models)
      out += std::string(g.name) + "{" + labels(*e) + "} " + std::to_string(((*e->metrics).*g.value).load()) + "\n";
  }
}

}  // namespace tessera::serve
