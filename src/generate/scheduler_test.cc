// The sequence scheduler on the tiny bigram decoder: batched runs match runs alone, cancellation frees the
// sequence, the limits hold.
#include "generate/scheduler.h"

#include <gtest/gtest.h>

#include <future>
#include <random>
#include <set>

#include "testing/tiny_decoder_model.h"

namespace tessera::generate {
namespace {

std::unique_ptr<DecoderModel> LoadTiny() {
  auto model = DecoderModel::Load(testing::WriteTinyDecoder(), {});
  EXPECT_TRUE(model.ok()) << model.status().message();
  return model.ok() ? std::move(model).value() : nullptr;
}

// A request's tokens as streamed and its end, collected from the scheduler's thread.
struct Collected {
  std::mutex mu;
  std::vector<TokenId> streamed;
  std::promise<StatusOr<GenerationResult>> done;

  GenerationSink Sink() {
    return {[this](TokenId t, const std::string&) {
              std::lock_guard<std::mutex> lock(mu);
              streamed.push_back(t);
            },
            [this](StatusOr<GenerationResult> r) { done.set_value(std::move(r)); }};
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu);
    return streamed.size();
  }
};

GenerationRequest Sampled(std::mt19937& rng, uint64_t seed) {
  GenerationRequest r;
  for (int i = 0, n = 1 + static_cast<int>(rng() % 5); i < n; ++i) r.prompt.push_back(static_cast<TokenId>(rng() % 16));
  r.max_new_tokens = 3 + static_cast<int64_t>(rng() % 20);
  r.sampling.temperature = 2.0f;  // the tiny model's successor has ~0.6 of the mass here: real draws
  r.sampling.seed = seed;
  r.stop_at_eos = false;
  return r;
}

void WaitFor(const std::function<bool()>& condition) {
  for (int i = 0; i < 5000 && !condition(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(condition());
}

TEST(SequenceSchedulerTest, SequencesJoiningAndLeavingMidRunGiveTheTokensTheyGiveAlone) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::vector<GenerationRequest> requests;
  for (int i = 0; i < 12; ++i) requests.push_back(Sampled(rng, 100 + i));
  auto alone_model = LoadTiny();
  ASSERT_TRUE(alone_model);
  std::vector<std::vector<TokenId>> alone;
  for (const GenerationRequest& r : requests) {
    auto result = Generate(*alone_model, r, nullptr, nullptr);
    ASSERT_TRUE(result.ok()) << result.status().message();
    alone.push_back(result->tokens);
  }
  auto model = LoadTiny();
  ASSERT_TRUE(model);
  SequenceScheduler scheduler(std::move(model), nullptr, {.max_running = 5});
  std::vector<std::unique_ptr<Collected>> collected;
  for (size_t i = 0; i < requests.size(); ++i) {
    collected.push_back(std::make_unique<Collected>());
    ASSERT_TRUE(scheduler.Submit(requests[i], collected.back()->Sink()).ok());
    if (i % 3 == 2) std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 3));  // join mid-run
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    auto result = collected[i]->done.get_future().get();
    ASSERT_TRUE(result.ok()) << result.status().message();
    EXPECT_EQ(result->tokens, alone[i]) << "request " << i;
    EXPECT_EQ(collected[i]->streamed, alone[i]) << "request " << i;
  }
  WaitFor([&] { return scheduler.stats().running == 0; });
}

TEST(SequenceSchedulerTest, CancelFreesTheSequenceAndItsCache) {
  auto model = LoadTiny();
  ASSERT_TRUE(model);
  SequenceScheduler scheduler(std::move(model), nullptr, {});
  GenerationRequest r;
  r.prompt = {1, 2};
  r.max_new_tokens = 1 << 30;  // ends only when cancelled
  r.stop_at_eos = false;
  Collected c;
  auto ticket = scheduler.Submit(r, c.Sink());
  ASSERT_TRUE(ticket.ok());
  WaitFor([&] { return c.count() >= 3 && scheduler.stats().cache_bytes > 0; });
  scheduler.Cancel(**ticket);
  auto result = c.done.get_future().get();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->stop_reason, StopReason::kCancelled);
  EXPECT_GE(result->tokens.size(), 3u);
  WaitFor([&] { return scheduler.stats().running == 0 && scheduler.stats().cache_bytes == 0; });
}

TEST(SequenceSchedulerTest, RunningSequencesNeverExceedMaxRunningOrTheCacheBudget) {
  auto model = LoadTiny();
  ASSERT_TRUE(model);
  // The tiny cache holds one float32 key and one value per position: 8 bytes a token. Room for two.
  const int64_t positions = 2 + 30;
  SequenceScheduler scheduler(std::move(model), nullptr, {.max_running = 3, .max_cache_bytes = 2 * 8 * positions});
  std::atomic<int64_t> most_running{0}, most_bytes{0};
  scheduler.SetStatsListener([&](const SchedulerStats& s) {
    most_running.store(std::max(most_running.load(), s.running));
    most_bytes.store(std::max(most_bytes.load(), s.cache_bytes));
  });
  std::vector<std::unique_ptr<Collected>> collected;
  for (int i = 0; i < 6; ++i) {
    GenerationRequest r;
    r.prompt = {static_cast<TokenId>(i), 3};
    r.max_new_tokens = 30;
    r.stop_at_eos = false;
    collected.push_back(std::make_unique<Collected>());
    ASSERT_TRUE(scheduler.Submit(r, collected.back()->Sink()).ok());
  }
  for (auto& c : collected) {
    auto result = c->done.get_future().get();
    ASSERT_TRUE(result.ok()) << result.status().message();
    EXPECT_EQ(result->tokens.size(), 30u);
  }
  EXPECT_EQ(most_running.load(), 2);  // the byte budget binds before max_running
  EXPECT_LE(most_bytes.load(), 2 * 8 * positions);
}

TEST(SequenceSchedulerTest, FullWaitingQueueIsUnavailableAndInvalidRequestsAreRefused) {
  auto model = LoadTiny();
  ASSERT_TRUE(model);
  SequenceScheduler scheduler(std::move(model), nullptr, {.max_running = 1, .max_waiting = 1});
  GenerationRequest r;
  r.prompt = {1};
  r.max_new_tokens = 1 << 30;
  r.stop_at_eos = false;
  Collected running, waiting;
  auto first = scheduler.Submit(r, running.Sink());
  ASSERT_TRUE(first.ok());
  WaitFor([&] { return running.count() > 0; });
  auto second = scheduler.Submit(r, waiting.Sink());
  ASSERT_TRUE(second.ok());
  auto third = scheduler.Submit(r, {});
  EXPECT_EQ(third.status().code(), StatusCode::kUnavailable);
  GenerationRequest empty = r;
  empty.prompt.clear();
  EXPECT_EQ(scheduler.Submit(empty, {}).status().code(), StatusCode::kInvalidArgument);
  GenerationRequest bad_sampling = r;
  bad_sampling.sampling.top_p = 0;
  EXPECT_EQ(scheduler.Submit(bad_sampling, {}).status().code(), StatusCode::kInvalidArgument);
  scheduler.Cancel(**second);
  scheduler.Cancel(**first);
  EXPECT_EQ(waiting.done.get_future().get()->stop_reason, StopReason::kCancelled);
  EXPECT_EQ(running.done.get_future().get()->stop_reason, StopReason::kCancelled);
  EXPECT_TRUE(waiting.streamed.empty());
}

TEST(SequenceSchedulerTest, DestroyingTheSchedulerEndsOpenRequestsAsUnavailable) {
  Collected c;
  {
    auto model = LoadTiny();
    ASSERT_TRUE(model);
    SequenceScheduler scheduler(std::move(model), nullptr, {});
    GenerationRequest r;
    r.prompt = {1};
    r.max_new_tokens = 1 << 30;
    r.stop_at_eos = false;
    ASSERT_TRUE(scheduler.Submit(r, c.Sink()).ok());
    WaitFor([&] { return c.count() > 0; });
  }
  EXPECT_EQ(c.done.get_future().get().status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace tessera::generate

namespace tessera::generate {
namespace {

// Records what a driver sees and steps the model as the scheduler would without one.
class RecordingDriver : public StepDriver {
 public:
  StatusOr<std::vector<std::vector<float>>> Step(DecoderModel& model, const std::vector<ScheduledRow>& rows,
                                                 const std::vector<int64_t>& freed) override {
    std::lock_guard<std::mutex> lock(mu);
    for (int64_t id : freed) {
      if (!live.erase(id)) ++unknown_frees;
    }
    std::vector<Sequence*> sequences;
    for (const ScheduledRow& row : rows) {
      live.insert(row.id);
      sequences.push_back(row.sequence);
    }
    if (sequences.empty()) return std::vector<std::vector<float>>{};
    return model.Step(sequences);
  }
  std::mutex mu;
  std::set<int64_t> live;
  int unknown_frees = 0;
};

TEST(SequenceSchedulerTest, DriverSeesEverySequenceFreedOnceWhetherItEndsOrIsCancelled) {
  auto model = LoadTiny();
  ASSERT_TRUE(model);
  auto owned = std::make_unique<RecordingDriver>();
  RecordingDriver* driver = owned.get();
  SequenceScheduler scheduler(std::move(model), nullptr, {.max_running = 3}, std::move(owned));
  std::mt19937 rng(7);
  std::vector<std::unique_ptr<Collected>> collected;
  std::vector<std::shared_ptr<GenerationTicket>> tickets;
  for (int i = 0; i < 6; ++i) {
    collected.push_back(std::make_unique<Collected>());
    GenerationRequest r = Sampled(rng, 10 + i);
    if (i == 0) r.max_new_tokens = 200;  // long enough to be cancelled while it runs
    auto ticket = scheduler.Submit(r, collected.back()->Sink());
    ASSERT_TRUE(ticket.ok());
    tickets.push_back(*ticket);
  }
  WaitFor([&] { return collected[0]->count() >= 2; });
  scheduler.Cancel(*tickets[0]);
  for (auto& c : collected) (void)c->done.get_future().get();
  WaitFor([&] {
    std::lock_guard<std::mutex> lock(driver->mu);
    return driver->live.empty();
  });
  std::lock_guard<std::mutex> lock(driver->mu);
  EXPECT_EQ(driver->unknown_frees, 0);
}

}  // namespace
}  // namespace tessera::generate
