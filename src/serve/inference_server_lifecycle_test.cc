// Loading, unloading, draining and timeouts while requests are in flight.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <optional>
#include <sstream>
#include <thread>

#include "serve/inference_server.h"
#include "serve/serve_test_repository.h"

namespace tessera::serve {
namespace {

using testing::AffineModel;
using testing::StartServer;
using testing::TestRepository;

// A request waits in this model's queue until the batch holds 8 rows or 30 s pass: it stays in flight,
// deterministically, until something (an unload, a drain, more requests) moves it.
constexpr const char* kHoldsRequests =
    R"({"max_batch_size": 8, "dynamic_batching": {"max_queue_delay_microseconds": 30000000}})";

InferRequest Affine(const std::string& model = "affine") {
  InferRequest r;
  r.model_name = model;
  r.inputs.push_back({"x", Tensor::FromVector(DType::kFloat32, {1, 4}, std::vector<float>{1, 2, 3, 4})});
  return r;
}

double Inflight(const InferenceServer& server, const std::string& model) {
  std::istringstream lines(server.MetricsText());
  std::string series = "tessera_inflight_requests{model=\"" + model + "\",version=\"1\"} ";
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series, 0) == 0) return std::stod(line.substr(series.size()));
  }
  return -1;
}

// Blocks until `count` requests of `model` are in flight (queued): the state the test goes on from.
void AwaitInflight(const InferenceServer& server, const std::string& model, double count) {
  while (Inflight(server, model) < count) std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

// A copy of `name`'s entry of the index (the index is a temporary in the tests), or nothing.
std::optional<RepositoryEntry> Entry(const std::vector<RepositoryEntry>& index, const std::string& name) {
  for (const RepositoryEntry& e : index) {
    if (e.name == name) return e;
  }
  return std::nullopt;
}

TEST(InferenceServerLifecycleTest, QueuedRequestPastTheTimeoutIsDeadlineExceeded) {
  TestRepository repo;
  repo.AddModel("affine", "1", AffineModel());
  repo.WriteConfig("affine", kHoldsRequests);
  auto server = StartServer(repo.root(), /*timeout_ms=*/50);
  ASSERT_TRUE(server);
  auto response = server->Infer(Affine());
  EXPECT_EQ(response.status().code(), StatusCode::kDeadlineExceeded) << response.status().ToString();
  EXPECT_NE(response.status().message().find("50 ms"), std::string::npos);
}

TEST(InferenceServerLifecycleTest, DrainWaitsForAcceptedRequestsAndRefusesNewOnes) {
  TestRepository repo;
  repo.AddModel("affine", "1", AffineModel());
  repo.WriteConfig("affine", R"({"max_batch_size": 8, "dynamic_batching": {"max_queue_delay_microseconds": 300000}})");
  auto server = StartServer(repo.root());
  ASSERT_TRUE(server);
  auto accepted = std::async(std::launch::async, [&] { return server->Infer(Affine()); });
  AwaitInflight(*server, "affine", 1);
  server->Drain();
  // Drain returned, so the accepted request has been answered (counted before Infer returns), successfully.
  EXPECT_NE(
      server->MetricsText().find("tessera_requests_total{model=\"affine\",version=\"1\",outcome=\"success\"} 1\n"),
      std::string::npos);
  EXPECT_EQ(Inflight(*server, "affine"), 0);
  EXPECT_TRUE(accepted.get().ok());
  EXPECT_FALSE(server->Ready());
  EXPECT_TRUE(server->Live());
  EXPECT_EQ(server->Infer(Affine()).status().code(), StatusCode::kUnavailable);
}

TEST(InferenceServerLifecycleTest, UnloadFinishesQueuedRequestsThenRefusesAndLoadRestores) {
  TestRepository repo;
  repo.AddModel("affine", "1", AffineModel());
  repo.WriteConfig("affine", kHoldsRequests);
  auto server = StartServer(repo.root());
  ASSERT_TRUE(server);
  auto queued = std::async(std::launch::async, [&] { return server->Infer(Affine()); });
  AwaitInflight(*server, "affine", 1);
  ASSERT_TRUE(server->UnloadModel("affine").ok());
  auto answer = queued.get();
  EXPECT_TRUE(answer.ok()) << answer.status().ToString();

  EXPECT_EQ(server->Infer(Affine()).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(server->ModelReady("affine", "").value(), false);
  std::optional<RepositoryEntry> e = Entry(server->RepositoryIndex(), "affine");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->state, "UNAVAILABLE");
  EXPECT_EQ(e->version, "");

  ASSERT_TRUE(server->LoadModel("affine").ok());
  e = Entry(server->RepositoryIndex(), "affine");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->state, "READY");
  EXPECT_EQ(e->version, "1");
  repo.WriteConfig("affine", "{}");  // no batching now: a single request runs at once
  ASSERT_TRUE(server->LoadModel("affine").ok());
  EXPECT_TRUE(server->Infer(Affine()).ok());
}

TEST(InferenceServerLifecycleTest, LoadAndUnloadCheckNames) {
  TestRepository repo;
  repo.AddModel("affine", "1", AffineModel());
  auto server = StartServer(repo.root());
  ASSERT_TRUE(server);
  EXPECT_EQ(server->LoadModel("../affine").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(server->LoadModel("..").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(server->LoadModel("missing").code(), StatusCode::kNotFound);
  EXPECT_EQ(server->UnloadModel("missing").code(), StatusCode::kNotFound);
  EXPECT_EQ(server->UnloadModel("a/b").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(server->UnloadModel("affine").ok());
  EXPECT_TRUE(server->UnloadModel("affine").ok());  // already unloaded: nothing to do
}

TEST(InferenceServerLifecycleTest, ReloadPicksUpANewVersion) {
  TestRepository repo;
  repo.AddModel("affine", "1", AffineModel());
  auto server = StartServer(repo.root());
  ASSERT_TRUE(server);
  repo.AddModel("affine", "2", AffineModel());
  ASSERT_TRUE(server->LoadModel("affine").ok());
  auto response = server->Infer(Affine());
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->model_version, "2");
}

TEST(InferenceServerLifecycleTest, FailedReloadKeepsServingTheLoadedVersion) {
  TestRepository repo;
  repo.AddModel("affine", "1", AffineModel());
  auto server = StartServer(repo.root());
  ASSERT_TRUE(server);
  std::filesystem::remove(repo.root() + "/affine/1/model.onnx");
  EXPECT_EQ(server->LoadModel("affine").code(), StatusCode::kNotFound);
  repo.WriteConfig("affine", R"({"instance_count": "two"})");
  repo.AddModel("affine", "2", AffineModel());
  EXPECT_EQ(server->LoadModel("affine").code(), StatusCode::kInvalidArgument);
  auto response = server->Infer(Affine());
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->model_version, "1");
  EXPECT_EQ(server->ModelReady("affine", "").value(), true);
  std::optional<RepositoryEntry> e = Entry(server->RepositoryIndex(), "affine");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->state, "READY");
  EXPECT_NE(e->reason.find("instance_count"), std::string::npos) << e->reason;  // why the reload failed
}

TEST(InferenceServerLifecycleTest, ModelsAddedLaterAreIndexedAndLoadable) {
  TestRepository repo;
  repo.AddModel("affine", "1", AffineModel());
  auto server = StartServer(repo.root());
  ASSERT_TRUE(server);
  repo.AddModel("later", "4", AffineModel());
  std::optional<RepositoryEntry> e = Entry(server->RepositoryIndex(), "later");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->state, "UNAVAILABLE");
  EXPECT_EQ(server->Infer(Affine("later")).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(server->LoadModel("later").ok());
  EXPECT_TRUE(server->Infer(Affine("later")).ok());
}

TEST(InferenceServerLifecycleTest, DistributedInstanceIsUnimplementedForNow) {
  TestRepository repo;
  repo.AddModel("affine", "1", AffineModel());
  repo.WriteConfig("affine", R"({"parallel": {"tp": 2}})");
  auto server = StartServer(repo.root());
  ASSERT_TRUE(server);
  EXPECT_FALSE(server->Ready());
  Status s = server->LoadModel("affine");
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented) << s.ToString();
  std::optional<RepositoryEntry> e = Entry(server->RepositoryIndex(), "affine");
  ASSERT_TRUE(e);
  EXPECT_NE(e->reason.find("tp=2"), std::string::npos) << e->reason;
}

TEST(InferenceServerLifecycleTest, BadConfigIsTheModelsReason) {
  TestRepository repo;
  repo.AddModel("affine", "1", AffineModel());
  repo.WriteConfig("affine", R"({"max_batch_size": "lots"})");
  auto server = StartServer(repo.root());
  ASSERT_TRUE(server);
  std::optional<RepositoryEntry> e = Entry(server->RepositoryIndex(), "affine");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->state, "UNAVAILABLE");
  EXPECT_NE(e->reason.find("'max_batch_size' must be an integer"), std::string::npos) << e->reason;
}

TEST(InferenceServerLifecycleTest, NamedModelThatDoesNotExistFailsStartup) {
  TestRepository repo;
  repo.AddModel("affine", "1", AffineModel());
  ServerOptions options;
  options.model_repo = repo.root();
  options.load_models = {"affine", "typo"};
  auto server = CreateInferenceServer(options);
  EXPECT_EQ(server.status().code(), StatusCode::kNotFound);
  options.load_models = {"affine"};
  server = CreateInferenceServer(options);
  ASSERT_TRUE(server.ok());
  EXPECT_TRUE((*server)->Ready());
}

TEST(InferenceServerLifecycleTest, RequestsDuringUnloadAndLoadGetAnswersNeverCrashes) {
  TestRepository repo;
  repo.AddModel("affine", "1", AffineModel());
  repo.WriteConfig(
      "affine",
      R"({"max_batch_size": 4, "dynamic_batching": {"max_queue_delay_microseconds": 1000}, "instance_count": 2, "threads": 1})");
  auto server = StartServer(repo.root());
  ASSERT_TRUE(server);
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, refused{0}, other{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      while (!stop.load()) {
        auto r = server->Infer(Affine());
        if (r.ok()) {
          ++ok;
          if (r->outputs[0].tensor.data<float>()[0] != 3.0f) ++other;
        } else if (r.status().code() == StatusCode::kUnavailable) {
          ++refused;
        } else {
          ++other;
        }
      }
    });
  }
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(server->UnloadModel("affine").ok());
    EXPECT_TRUE(server->LoadModel("affine").ok());
  }
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(other.load(), 0);
}

}  // namespace
}  // namespace tessera::serve
