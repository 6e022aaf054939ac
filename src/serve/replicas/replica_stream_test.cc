// Relayed streaming completions (replica_stream.h) over fake replicas: retried before the first event,
// ended with an error event and [DONE] after it, never cut silently.
#include "serve/replicas/replica_stream.h"

#include <gtest/gtest.h>

#include "serve/replicas/fake_replica_test_util.h"

namespace tessera::serve::replicas {
namespace {

using testing::FakeReplicas;

constexpr const char* kToken1 = "data: {\"choices\":[{\"text\":\"a\"}]}\n\n";
constexpr const char* kToken2 = "data: {\"choices\":[{\"text\":\"b\"}]}\n\n";
constexpr const char* kDone = "data: [DONE]\n\n";

// Sends `pieces` as the body of a 200 stream, then ends as `end` says.
std::function<ReplicaReply(const ReplicaStreamSink&)> Streams(std::vector<std::string> pieces, bool lost_at_end) {
  return [pieces, lost_at_end](const ReplicaStreamSink& sink) {
    if (!sink.on_answer(200, "text/event-stream")) return ReplicaReply::NoAnswer("cancelled");
    for (const std::string& p : pieces) {
      if (!sink.on_data(p)) return ReplicaReply::NoAnswer("cancelled");
    }
    if (lost_at_end) return ReplicaReply::NoAnswer("connection reset");
    ReplicaReply r;
    r.answered = true;
    r.status = 200;
    return r;
  };
}

std::string ReadAll(RelayedStream& stream) {
  std::string events;
  while (stream.Next(std::chrono::milliseconds(20), events)) {
  }
  return events;
}

TEST(ReplicaStreamTest, WholeEventsAreTakenAndTheRestKept) {
  std::string pending = std::string(kToken1) + "data: {\"cho";
  std::string events;
  bool done = false;
  EXPECT_EQ(TakeWholeEvents(pending, events, done), 1u);
  EXPECT_EQ(events, kToken1);
  EXPECT_EQ(pending, "data: {\"cho");
  pending += "ices\":[]}\n\n" + std::string(kDone);
  EXPECT_EQ(TakeWholeEvents(pending, events, done), 2u);
  EXPECT_TRUE(done);
  EXPECT_TRUE(pending.empty());
}

TEST(ReplicaStreamTest, EventsSplitAcrossPiecesArePassedOnWhole) {
  FakeReplicas r(1);
  const std::string all = std::string(kToken1) + kToken2 + kDone;
  r[0].stream = Streams({all.substr(0, 7), all.substr(7, 30), all.substr(37)}, false);
  OpenAiRelay::Opened opened = OpenReplicaStream(*r.set, "/v1/completions", "{}");
  ASSERT_TRUE(opened.stream);
  EXPECT_EQ(ReadAll(*opened.stream), all);
  EXPECT_EQ(r.set->retries(), 0u);
}

TEST(ReplicaStreamTest, ReplicaLostBeforeTheFirstEventIsReplacedOnce) {
  FakeReplicas r(2);
  r[0].stream = Streams({"data: {\"cho"}, true);  // half an event: nothing reached the client
  r[1].stream = Streams({kToken1, kToken2, kDone}, false);
  OpenAiRelay::Opened opened = OpenReplicaStream(*r.set, "/v1/completions", "{}");
  ASSERT_TRUE(opened.stream);
  EXPECT_EQ(ReadAll(*opened.stream), std::string(kToken1) + kToken2 + kDone);
  EXPECT_EQ(r.set->retries(), 1u);
  EXPECT_FALSE(r.set->Statuses()[0].healthy);
}

TEST(ReplicaStreamTest, ReplicaLostAfterTokensEndsWithAnErrorEventThenDone) {
  FakeReplicas r(2);
  r[0].stream = Streams({kToken1, kToken2}, true);
  OpenAiRelay::Opened opened = OpenReplicaStream(*r.set, "/v1/completions", "{}");
  ASSERT_TRUE(opened.stream);
  const std::string events = ReadAll(*opened.stream);
  const std::string sent = std::string(kToken1) + kToken2;
  ASSERT_EQ(events.substr(0, sent.size()), sent);
  const std::string rest = events.substr(sent.size());
  EXPECT_EQ(rest.rfind("data: {\"error\":", 0), 0u) << rest;
  EXPECT_NE(rest.find("replica_lost"), std::string::npos) << rest;
  EXPECT_NE(rest.find("http://replica-0"), std::string::npos) << rest;
  EXPECT_EQ(rest.substr(rest.size() - std::string(kDone).size()), kDone);
  EXPECT_EQ(r[1].requests, 0);  // tokens were sent: never restarted elsewhere
  EXPECT_FALSE(r.set->Statuses()[0].healthy);
}

TEST(ReplicaStreamTest, RefusalBeforeStreamingIsTheAnswer) {
  FakeReplicas r(2);
  r[0].stream = [](const ReplicaStreamSink& sink) {
    sink.on_answer(400, "application/json");
    sink.on_data(R"({"error":{"message":"bad max_tokens"}})");
    ReplicaReply reply;
    reply.answered = true;
    reply.status = 400;
    return reply;
  };
  OpenAiRelay::Opened opened = OpenReplicaStream(*r.set, "/v1/completions", "{}");
  ASSERT_FALSE(opened.stream);
  EXPECT_EQ(opened.answer.status, 400);
  EXPECT_EQ(opened.answer.body, R"({"error":{"message":"bad max_tokens"}})");
  EXPECT_EQ(r[1].requests, 0);
}

TEST(ReplicaStreamTest, NoReplicaLeftGives503InOpenAiShape) {
  FakeReplicas r(2);  // both lose the request before any event
  OpenAiRelay::Opened opened = OpenReplicaStream(*r.set, "/v1/completions", "{}");
  ASSERT_FALSE(opened.stream);
  EXPECT_EQ(opened.answer.status, 503);
  EXPECT_NE(opened.answer.body.find("no healthy replica for a streaming completion"), std::string::npos)
      << opened.answer.body;
  EXPECT_EQ(r.set->healthy(), 0u);
}

}  // namespace
}  // namespace tessera::serve::replicas
