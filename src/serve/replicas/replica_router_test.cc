// The retry and health policy of the routing server (replica_router.h, replica_set.h) over fake replicas.
#include "serve/replicas/replica_router.h"

#include <gtest/gtest.h>

#include "serve/replicas/fake_replica_test_util.h"

namespace tessera::serve::replicas {
namespace {

using testing::Answer;
using testing::FakeReplicas;

ReplicaRouter::Attempt GetInfer() {
  return [](ReplicaTransport& t) { return t.Get("/v2/models/m/infer"); };
}

TEST(ReplicaRouterTest, JudgesLostRefusedAndAnsweredReplies) {
  EXPECT_EQ(JudgeReply(ReplicaReply::NoAnswer("connection reset")), ReplyVerdict::kLost);
  EXPECT_EQ(JudgeReply(Answer(503)), ReplyVerdict::kRefused);
  EXPECT_EQ(JudgeReply(Answer(502)), ReplyVerdict::kRefused);
  for (int status : {200, 400, 404, 500, 504}) EXPECT_EQ(JudgeReply(Answer(status)), ReplyVerdict::kAnswer) << status;
}

// The first choice of a fresh set is replica 0 (all idle; the search starts at 0).
TEST(ReplicaRouterTest, LostReplicaIsMarkedDownAndTheRequestGoesOnceElsewhere) {
  FakeReplicas r(3);
  r[0].answer = [](const std::string&, const std::string&) { return ReplicaReply::NoAnswer("connection reset"); };
  r[1].answer = r[2].answer = [](const std::string&, const std::string&) { return Answer(200, "done"); };
  ReplicaRouter router(*r.set);
  auto reply = router.Send("inference of model 'm'", GetInfer());
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->body, "done");
  EXPECT_EQ(r.set->retries(), 1u);
  EXPECT_EQ(r.set->healthy(), 2u);
  EXPECT_FALSE(r.set->Statuses()[0].healthy);
  EXPECT_EQ(r.set->Statuses()[0].failures, 1u);
  EXPECT_EQ(r.set->Statuses()[0].last_failure, "connection reset");
  EXPECT_EQ(r[0].drops, 1);  // its kept-alive connections are not reused
  EXPECT_EQ(r[1].requests + r[2].requests, 1);
}

TEST(ReplicaRouterTest, BadRequestIsTheAnswerAndIsNotRetried) {
  FakeReplicas r(2);
  r[0].answer = [](const std::string&, const std::string&) { return Answer(400, R"({"error":"bad input"})"); };
  ReplicaRouter router(*r.set);
  auto reply = router.Send("inference of model 'm'", GetInfer());
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->status, 400);
  EXPECT_EQ(r[1].requests, 0);
  EXPECT_EQ(r.set->retries(), 0u);
  EXPECT_EQ(r.set->healthy(), 2u);
}

TEST(ReplicaRouterTest, RefusalGoesToAnotherReplicaAndLeavesTheFirstUp) {
  FakeReplicas r(2);
  r[0].answer = [](const std::string&, const std::string&) { return Answer(503, R"({"error":"shutting down"})"); };
  ReplicaRouter router(*r.set);
  auto reply = router.Send("inference of model 'm'", GetInfer());
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(r.set->retries(), 1u);
  EXPECT_EQ(r.set->healthy(), 2u);
}

TEST(ReplicaRouterTest, RefusedEverywhereGivesTheLastRefusalAsItCame) {
  FakeReplicas r(2);
  r[0].answer = r[1].answer = [](const std::string&, const std::string&) { return Answer(503, "busy"); };
  ReplicaRouter router(*r.set);
  auto reply = router.Send("inference of model 'm'", GetInfer());
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->status, 503);
  EXPECT_EQ(reply->body, "busy");
}

TEST(ReplicaRouterTest, RetriedOnceOnlyThenUnavailableNamingWhatHappened) {
  FakeReplicas r(3);
  for (int i = 0; i < 3; ++i) {
    r[i].answer = [](const std::string&, const std::string&) { return ReplicaReply::NoAnswer("connection refused"); };
  }
  ReplicaRouter router(*r.set);
  auto reply = router.Send("inference of model 'm'", GetInfer());
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(reply.status().message().find("inference of model 'm'"), std::string::npos);
  EXPECT_NE(reply.status().message().find("http://replica-0 gave connection refused"), std::string::npos)
      << reply.status().message();
  EXPECT_EQ(r[0].requests + r[1].requests + r[2].requests, 2);
  EXPECT_EQ(r.set->retries(), 1u);
  EXPECT_EQ(r.set->healthy(), 1u);
}

TEST(ReplicaRouterTest, NoHealthyReplicaIsUnavailableWithoutSendingAnything) {
  FakeReplicas r(2);
  r[0].ready = r[1].ready = false;
  r.set->CheckHealth();
  ReplicaRouter router(*r.set);
  auto reply = router.Send("metadata of model 'm'", GetInfer());
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(reply.status().message().find("0 of 2 replicas are up"), std::string::npos) << reply.status().message();
  EXPECT_EQ(r[0].requests + r[1].requests, 0);
}

TEST(ReplicaRouterTest, LostReplicaRejoinsWhenItsProbeAnswersAgain) {
  FakeReplicas r(2);
  r.set->MarkDown(0, "connection reset");
  EXPECT_EQ(r.set->healthy(), 1u);
  r.set->CheckHealth();  // the restarted process answers its probe
  EXPECT_EQ(r.set->healthy(), 2u);
  r[1].ready = false;
  r.set->CheckHealth();
  EXPECT_FALSE(r.set->Statuses()[1].healthy);
  EXPECT_EQ(r[1].drops, 1);
}

TEST(ReplicaRouterTest, LeastOutstandingReplicaIsChosen) {
  FakeReplicas r(3);
  std::optional<ReplicaLease> a = r.set->Acquire();
  std::optional<ReplicaLease> b = r.set->Acquire();
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->index(), b->index());
  std::optional<ReplicaLease> c = r.set->Acquire();
  ASSERT_TRUE(c);
  EXPECT_NE(c->index(), a->index());
  EXPECT_NE(c->index(), b->index());
  a.reset();  // replica a is idle again: the only one with nothing outstanding
  const size_t idle = r.set->Statuses()[0].outstanding == 0 ? 0 : r.set->Statuses()[1].outstanding == 0 ? 1 : 2;
  std::optional<ReplicaLease> d = r.set->Acquire();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->index(), idle);
}

TEST(ReplicaRouterTest, RetryNeverGoesBackToTheReplicaThatFailed) {
  FakeReplicas r(1);
  r[0].answer = [](const std::string&, const std::string&) { return Answer(503); };
  ReplicaRouter router(*r.set);
  auto reply = router.Send("inference of model 'm'", GetInfer());
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->status, 503);
  EXPECT_EQ(r[0].requests, 1);
  EXPECT_EQ(r.set->retries(), 0u);
}

}  // namespace
}  // namespace tessera::serve::replicas
