// SequenceScheduler (scheduler.h): the admission loop and the batched decode step.
#include "generate/scheduler.h"

#include <algorithm>

#include "generate/token_stream.h"

namespace tessera::generate {

struct SequenceScheduler::Scheduled {
  Scheduled(GenerationRequest r, GenerationSink s, const std::vector<TokenId>& eos, const TextCodec* codec)
      : request(std::move(r)), sink(std::move(s)), sampler(request.sampling), stream(request, eos, codec) {
    seq.tokens = request.prompt;
  }
  GenerationRequest request;  // `stream` refers to it: a Scheduled never moves (held by unique_ptr)
  GenerationSink sink;
  std::shared_ptr<GenerationTicket> ticket = std::make_shared<GenerationTicket>();
  Sequence seq;
  TokenSampler sampler;
  TokenStream stream;
  int64_t generated = 0;
  int64_t id = -1;  // set when admitted (scheduler thread)

  int64_t Positions() const { return static_cast<int64_t>(request.prompt.size()) + request.max_new_tokens; }
  int64_t CacheBytes() const {
    int64_t bytes = 0;
    for (const Tensor& t : seq.cache) bytes += static_cast<int64_t>(t.byte_size());
    return bytes;
  }
  void Finish(StatusOr<GenerationResult> result) {
    if (sink.on_done) sink.on_done(std::move(result));
  }
  void FinishCancelled() {
    GenerationResult result = std::move(stream.result());
    result.stop_reason = StopReason::kCancelled;
    Finish(std::move(result));
  }
};

SequenceScheduler::SequenceScheduler(std::unique_ptr<DecoderModel> model, const TextCodec* codec,
                                     SchedulerLimits limits, std::unique_ptr<StepDriver> driver)
    : model_(std::move(model)), codec_(codec), limits_(limits), driver_(std::move(driver)) {
  thread_ = std::thread([this] { Run(); });
}

SequenceScheduler::~SequenceScheduler() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

StatusOr<std::shared_ptr<GenerationTicket>> SequenceScheduler::Submit(GenerationRequest request, GenerationSink sink) {
  TS_RETURN_IF_ERROR(ValidateGenerationRequest(*model_, request, codec_));
  auto scheduled = std::make_unique<Scheduled>(std::move(request), std::move(sink), model_->defaults().eos_token_ids,
                                               codec_);
  std::shared_ptr<GenerationTicket> ticket = scheduled->ticket;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Unavailable("model '" + model_->model_name() + "' is shutting down");
    if (static_cast<int64_t>(waiting_.size()) >= limits_.max_waiting) {
      return Unavailable("model '" + model_->model_name() + "' has " + std::to_string(waiting_.size()) +
                         " requests waiting, its limit (--max-waiting-sequences); try again later");
    }
    waiting_.push_back(std::move(scheduled));
    waiting_count_.store(static_cast<int64_t>(waiting_.size()));
  }
  wake_.notify_all();
  return ticket;
}

void SequenceScheduler::Cancel(GenerationTicket& ticket) {
  ticket.cancelled.store(true);
  wake_.notify_all();
}

SchedulerStats SequenceScheduler::stats() const {
  return {running_count_.load(), waiting_count_.load(), cache_bytes_.load()};
}

void SequenceScheduler::AdmitLocked(std::vector<std::unique_ptr<Scheduled>>& running) {
  int64_t reserved = 0;
  for (const auto& s : running) reserved += cache_bytes_per_token_ * s->Positions();
  while (!waiting_.empty() && static_cast<int64_t>(running.size()) < limits_.max_running) {
    const Scheduled& next = *waiting_.front();
    if (limits_.max_cache_bytes > 0) {
      // Until a step has measured the cache's bytes per token, a reservation cannot be priced: only a
      // sequence alone is admitted then. A sequence alone is always admitted, even over the budget; every
      // admitted sequence counts in `reserved` (the first one too, or a third would fit in room for two).
      if (cache_bytes_per_token_ == 0 && !running.empty()) break;
      const int64_t need = cache_bytes_per_token_ * next.Positions();
      if (!running.empty() && reserved + need > limits_.max_cache_bytes) break;
      reserved += need;
    }
    waiting_.front()->id = next_id_++;
    running.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
  }
}

void SequenceScheduler::Publish(const std::vector<std::unique_ptr<Scheduled>>& running) {
  int64_t bytes = 0;
  for (const auto& s : running) bytes += s->CacheBytes();
  SchedulerStats stats;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats.waiting = static_cast<int64_t>(waiting_.size());
  }
  stats.running = static_cast<int64_t>(running.size());
  stats.cache_bytes = bytes;
  running_count_.store(stats.running);
  waiting_count_.store(stats.waiting);
  cache_bytes_.store(stats.cache_bytes);
  if (listener_) listener_(stats);
}

void SequenceScheduler::Run() {
  std::vector<std::unique_ptr<Scheduled>> running;
  for (;;) {
    std::vector<std::unique_ptr<Scheduled>> cancelled;
    bool stopping = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !waiting_.empty() || !running.empty(); });
      stopping = stopping_;
      for (auto it = waiting_.begin(); it != waiting_.end();) {
        if (stopping || (*it)->ticket->cancelled.load()) {
          cancelled.push_back(std::move(*it));
          it = waiting_.erase(it);
        } else {
          ++it;
        }
      }
      if (!stopping) AdmitLocked(running);
    }
    // Cancelled sequences leave before the step, so their caches are freed now, not after it.
    for (auto it = running.begin(); it != running.end();) {
      if (stopping || (*it)->ticket->cancelled.load()) {
        cancelled.push_back(std::move(*it));
        it = running.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& s : cancelled) {
      if (s->id >= 0) freed_.push_back(s->id);
      if (stopping && !s->ticket->cancelled.load()) {
        s->Finish(Unavailable("model '" + model_->model_name() + "' was unloaded before the request finished"));
      } else {
        s->FinishCancelled();
      }
    }
    cancelled.clear();
    if (stopping) {
      Publish(running);
      return;
    }
    if (!running.empty()) StepAll(running);
    // With nothing left to step, frees are announced at once: a client's disconnect frees the cache of
    // every rank now, not when the next request arrives.
    if (running.empty() && !freed_.empty()) (void)RunStep({});
    Publish(running);
  }
}

StatusOr<std::vector<std::vector<float>>> SequenceScheduler::RunStep(const std::vector<ScheduledRow>& rows) {
  std::vector<int64_t> freed;
  freed.swap(freed_);
  if (driver_) return driver_->Step(*model_, rows, freed);
  if (rows.empty()) return std::vector<std::vector<float>>{};
  std::vector<Sequence*> sequences;
  for (const ScheduledRow& row : rows) sequences.push_back(row.sequence);
  return model_->Step(sequences);
}

void SequenceScheduler::StepAll(std::vector<std::unique_ptr<Scheduled>>& running) {
  std::vector<ScheduledRow> rows;
  for (auto& s : running) rows.push_back({s->id, &s->seq});
  StatusOr<std::vector<std::vector<float>>> logits = RunStep(rows);
  if (logits.ok() && logits->size() != rows.size()) {
    logits = Internal("model '" + model_->model_name() + "': a step of " + std::to_string(rows.size()) +
                      " sequences returned " + std::to_string(logits->size()) + " rows of logits");
  }
  if (!logits.ok()) {
    // The step's fault is the model's or the runtime's, not one request's: every row of it fails.
    for (auto& s : running) {
      freed_.push_back(s->id);
      s->Finish(logits.status());
    }
    running.clear();
    return;
  }
  for (size_t i = 0; i < running.size(); ++i) {
    Scheduled& s = *running[i];
    if (s.seq.cached > 0 && cache_bytes_per_token_ == 0) cache_bytes_per_token_ = s.CacheBytes() / s.seq.cached;
    const TokenId token = s.sampler.Sample((*logits)[i], s.seq.tokens);
    s.seq.tokens.push_back(token);
    ++s.generated;
    std::string new_text;
    StatusOr<bool> stopped = s.stream.Add(token, new_text);
    if (!stopped.ok()) {
      freed_.push_back(s.id);
      s.Finish(stopped.status());
      running[i].reset();
      continue;
    }
    const bool done = *stopped || s.generated >= s.request.max_new_tokens;
    // Text held back (a possible stop string, a character still incomplete) goes out with the last token,
    // so each token reaches the sink once.
    if (done) new_text += s.stream.Flush();
    if (s.sink.on_token) s.sink.on_token(token, new_text);
    if (done) {
      freed_.push_back(s.id);
      s.Finish(std::move(s.stream.result()));
      running[i].reset();
    }
  }
  std::erase_if(running, [](const std::unique_ptr<Scheduled>& s) { return !s; });
}

}  // namespace tessera::generate
