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
// A StepDriver (below) may stand between the scheduler and the model: it sees every step's rows by
// sequence id and the ids of the sequences that left, which is all a group of processes needs to mirror
// rank 0's scheduler (serve/distributed/decoder_group.h).
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

// One row of a step: the sequence's id (unique within its scheduler, never reused) and its state.
struct ScheduledRow {
  int64_t id = 0;
  Sequence* sequence = nullptr;
};

// How the scheduler runs a step. Without one it calls DecoderModel::Step; a model whose steps are
// collective over a group of processes (serve/distributed/) first tells the group's other ranks what to
// run, so they step the same rows in the same order. Called on the scheduler's thread only.
class StepDriver {
 public:
  virtual ~StepDriver() = default;
  // `freed`: ids of the sequences that left (ended, failed or cancelled) since the last call, whose caches
  // must go on every rank. `rows` may be empty: then only the frees are announced and no logits return.
  virtual StatusOr<std::vector<std::vector<float>>> Step(DecoderModel& model, const std::vector<ScheduledRow>& rows,
                                                         const std::vector<int64_t>& freed) = 0;
};

class SequenceScheduler {
 public:
  // `codec` may be null (then stop strings are refused); it must outlive the scheduler.
  // `driver` may be null (then steps call the model directly).
  SequenceScheduler(std::unique_ptr<DecoderModel> model, const TextCodec* codec, SchedulerLimits limits,
                    std::unique_ptr<StepDriver> driver = nullptr);
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
  // Runs `rows` (possibly none) through the driver or the model, announcing freed_ first.
  StatusOr<std::vector<std::vector<float>>> RunStep(const std::vector<ScheduledRow>& rows);

  std::unique_ptr<DecoderModel> model_;
  const TextCodec* codec_;
  const SchedulerLimits limits_;
  std::unique_ptr<StepDriver> driver_;
  std::vector<int64_t> freed_;  // ids left since the driver's last call; scheduler thread only
  int64_t next_id_ = 0;         // scheduler thread only
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
