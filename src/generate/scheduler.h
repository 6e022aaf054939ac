// SequenceScheduler: continuous batching of generation requests over one DecoderModel.
//
//   SequenceScheduler scheduler(std::move(model), codec, {.max_running = 16});
//   auto ticket = scheduler.Submit(request, {on_token, on_done});   // returns at once
//   ...
//   scheduler.Cancel(*ticket);                                      // e.g. the client went away
//
// One thread owns the model. Requests join a waiting queue; before every model step the thread drops
// cancelled sequences, admits waiting ones (their prompt runs in that step) while the limits allow, then
// steps every running sequence at once (DecoderModel::Step batches those it can), samples each one's next
// token with its own seeded sampler, streams it, and retires the sequences that ended, freeing their
// cache before the next step. A sequence's tokens depend only on its request: joining or leaving others
// changes nothing (each has its own sampler and cache; Step keeps rows apart).
//
// Limits (SchedulerLimits): at most max_running sequences step together; with max_cache_bytes set, a
// waiting sequence is admitted only while the running ones' reservations plus its own fit, a reservation
// being the model's measured cache bytes per token times (prompt + max_new_tokens). Until the first step
// has measured bytes per token, one sequence runs alone; a sequence is always admitted when nothing else
// runs, so one larger than the limit still runs, alone. Beyond max_waiting queued requests Submit answers
// Unavailable.
//
// Sinks are called on the scheduler's thread, in order, and must return quickly (hand the token to another
// thread; never block on a network write). on_done is called exactly once per accepted request: with the
// result (stop_reason kCancelled after Cancel), or with the model's error, or Unavailable when the
// scheduler is destroyed first.
//
// Thread safety: Submit, Cancel and stats may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "generate/decoder_model.h"
#include "generate/generation.h"

namespace tessera::generate {

struct SchedulerLimits {
  int max_running = 16;         // sequences stepping together
  int64_t max_cache_bytes = 0;  // KV-cache bytes reserved by running sequences; 0: no limit
  int max_waiting = 256;        // requests queued for admission
};

struct GenerationSink {
  // Each chosen token and the text it adds (token_stream.h), including a final stop token.
  std::function<void(TokenId token, const std::string& new_text)> on_token;
  std::function<void(StatusOr<GenerationResult> result)> on_done;
};

// The scheduler's state, published after every step and whenever the queue changes.
struct SchedulerStats {
  int64_t running = 0;
  int64_t waiting = 0;
  int64_t cache_bytes = 0;  // bytes of the running sequences' KV caches
};

// A request once accepted; Cancel(ticket) ends it.
struct GenerationTicket {
  std::atomic<bool> cancelled{false};
};

class SequenceScheduler {
 public:
  // `codec` may be null (then stop strings are refused); it must outlive the scheduler.
  SequenceScheduler(std::unique_ptr<DecoderModel> model, const TextCodec* codec, SchedulerLimits limits);
  // Ends every waiting and running request (on_done gets Unavailable) and joins the thread.
  ~SequenceScheduler();

  // Checks the request (ValidateGenerationRequest: InvalidArgument) and queues it; Unavailable when the
  // waiting queue is full or the scheduler is stopping.
  StatusOr<std::shared_ptr<GenerationTicket>> Submit(GenerationRequest request, GenerationSink sink);
  // The sequence is dropped before the next step (its cache freed) and on_done reports kCancelled.
  // Cancelling an ended request does nothing.
  void Cancel(GenerationTicket& ticket);

  SchedulerStats stats() const;
  // Called on the scheduler's thread with the new stats; set it before the first Submit.
  void SetStatsListener(std::function<void(const SchedulerStats&)> listener) { listener_ = std::move(listener); }

  // Read-only: its signature and defaults never change once loaded.
  const DecoderModel& model() const { return *model_; }
  const TextCodec* codec() const { return codec_; }
  const SchedulerLimits& limits() const { return limits_; }

 private:
  struct Scheduled;

  void Run();
  // Moves waiting requests into `running` while the limits allow; with mu_ held.
  void AdmitLocked(std::vector<std::unique_ptr<Scheduled>>& running);
  // One model step over `running`; sequences that end are reported and removed.
  void StepAll(std::vector<std::unique_ptr<Scheduled>>& running);
  void Publish(const std::vector<std::unique_ptr<Scheduled>>& running);

  std::unique_ptr<DecoderModel> model_;
  const TextCodec* codec_;
  const SchedulerLimits limits_;
  std::function<void(const SchedulerStats&)> listener_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<Scheduled>> waiting_;
  bool stopping_ = false;
  std::atomic<int64_t> running_count_{0}, waiting_count_{0}, cache_bytes_{0};
  int64_t cache_bytes_per_token_ = 0;  // measured after steps; scheduler thread only
  std::thread thread_;
};

}  // namespace tessera::generate
