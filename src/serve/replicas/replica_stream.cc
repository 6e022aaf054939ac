// Relayed streaming completions (replica_stream.h).
#include "serve/replicas/replica_stream.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "serve/http/openai_codec.h"
#include "serve/replicas/replica_router.h"

namespace tessera::serve::replicas {

namespace {

constexpr const char* kDone = "data: [DONE]\n\n";

// One request on one replica, read by `worker_`.
class ReplicaStream : public RelayedStream {
 public:
  ReplicaStream(ReplicaSet& set, ReplicaLease lease, std::string path, std::string body)
      : set_(set), lease_(std::move(lease)), path_(std::move(path)), body_(std::move(body)) {
    worker_ = std::thread([this] { Read(); });
  }
  ~ReplicaStream() override {
    {
      std::lock_guard<std::mutex> lock(stop_mu_);
      cancelled_.store(true);
      if (stop_) stop_();  // a request still going is broken off now, not at its next event
    }
    worker_.join();
  }

  // Blocks until the first whole event has come or the request has ended; true when an event came.
  bool WaitForFirstEvent() {
    std::unique_lock<std::mutex> lock(mu_);
    ready_cv_.wait(lock, [this] { return event_count_ > 0 || ended_; });
    return event_count_ > 0;
  }

  bool Next(std::chrono::milliseconds wait, std::string& events) override {
    std::unique_lock<std::mutex> lock(mu_);
    ready_cv_.wait_for(lock, wait, [this] { return !ready_.empty() || ended_; });
    events += ready_;
    ready_.clear();
    if (!ended_) return true;
    if (!saw_done_ && !ended_reported_) {
      ended_reported_ = true;
      if (!end_.answered) set_.MarkDown(lease_.index(), end_.failure);
      const std::string why = end_.answered ? "ended its stream without [DONE]" : "was lost (" + end_.failure + ")";
      const std::string message = "the replica serving this completion, " + lease_.url() + ", " + why + " after " +
                                  std::to_string(event_count_) + " events; the completion is cut short";
      events += "data: " + http::EncodeOpenAiError(503, message, "", "replica_lost") + "\n\n" + kDone;
    }
    return false;
  }

  // After the request ended without an event: what came back.
  bool lost() const { return !end_.answered; }
  const ReplicaReply& end() const { return end_; }
  RelayedAnswer Answer() const { return {status_, content_type_, refusal_body_}; }
  const ReplicaLease& lease() const { return lease_; }

 private:
  void Read() {
    ReplicaStreamSink sink;
    sink.on_answer = [this](int status, const std::string& content_type) {
      std::lock_guard<std::mutex> lock(mu_);
      status_ = status;
      content_type_ = content_type;
      return !cancelled_.load();
    };
    sink.on_data = [this](std::string_view data) {
      std::lock_guard<std::mutex> lock(mu_);
      if (status_ != 200) {
        refusal_body_.append(data);
      } else {
        pending_.append(data);
        const size_t taken = TakeWholeEvents(pending_, ready_, saw_done_);
        event_count_ += taken;
        if (taken > 0) ready_cv_.notify_all();
      }
      return !cancelled_.load();
    };
    sink.on_stoppable = [this](std::function<void()> stop) {
      std::lock_guard<std::mutex> lock(stop_mu_);
      stop_ = std::move(stop);
      if (stop_ && cancelled_.load()) stop_();  // cancelled before the request could be stopped
    };
    ReplicaReply end = lease_.transport().PostStreaming(path_, body_, sink);
    std::lock_guard<std::mutex> lock(mu_);
    end_ = std::move(end);
    ended_ = true;
    ready_cv_.notify_all();
  }

  ReplicaSet& set_;
  const ReplicaLease lease_;
  const std::string path_, body_;
  std::atomic<bool> cancelled_{false};
  std::mutex stop_mu_;  // guards stop_
  std::function<void()> stop_;

  std::mutex mu_;
  std::condition_variable ready_cv_;
  int status_ = 0;
  std::string content_type_, refusal_body_;
  std::string pending_;  // bytes after the last whole event
  std::string ready_;    // whole events not yet taken by Next
  size_t event_count_ = 0;
  bool saw_done_ = false;
  bool ended_ = false;
  bool ended_reported_ = false;
  ReplicaReply end_;
  std::thread worker_;  // last: started once everything above exists
};

RelayedAnswer Unavailable503(const Status& status) {
  return {503, "application/json", http::EncodeOpenAiError(503, status.message(), "", "server_busy")};
}

}  // namespace

size_t TakeWholeEvents(std::string& pending, std::string& events, bool& saw_done) {
  size_t count = 0, start = 0, end;
  while ((end = pending.find("\n\n", start)) != std::string::npos) {
    const std::string_view event(pending.data() + start, end + 2 - start);
    if (event == kDone) saw_done = true;
    events.append(event);
    start = end + 2;
    ++count;
  }
  pending.erase(0, start);
  return count;
}

OpenAiRelay::Opened OpenReplicaStream(ReplicaSet& set, const std::string& path, const std::string& body) {
  std::optional<size_t> excluded;
  std::optional<RelayedAnswer> refused;
  std::string tried;
  for (int round = 0; round < 2; ++round) {
    std::optional<ReplicaLease> lease = set.Acquire(excluded);
    if (!lease) break;
    if (round == 1) set.CountRetry();
    const size_t index = lease->index();
    const std::string url = lease->url();
    auto stream = std::make_unique<ReplicaStream>(set, std::move(*lease), path, body);
    if (stream->WaitForFirstEvent()) return {std::move(stream), {}};
    // Nothing reached the client: the request may go elsewhere.
    if (stream->lost()) {
      set.MarkDown(index, stream->end().failure);
      tried += (tried.empty() ? "" : "; ") + url + " gave " + stream->end().failure;
    } else if (const int status = stream->Answer().status; status == 200 || status == 502 || status == 503) {
      // 200 here is a stream that ended before its first event: nothing was generated, so it may go again.
      tried += (tried.empty() ? "" : "; ") + url + " answered " + std::to_string(status);
      if (status != 200) refused = stream->Answer();
    } else {
      return {nullptr, stream->Answer()};  // the worker's own refusal (4xx), as it came
    }
    excluded = index;
  }
  if (refused) return {nullptr, *std::move(refused)};
  return {nullptr, Unavailable503(NoHealthyReplica(set, "a streaming completion", tried))};
}

}  // namespace tessera::serve::replicas
