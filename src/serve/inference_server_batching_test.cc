// Dynamic batching seen from outside: merged runs counted through the metrics, never through timing.
#include <gtest/gtest.h>

#include <future>
#include <sstream>
#include <thread>

#include "serve/inference_server.h"
#include "serve/serve_test_repository.h"

namespace tessera::serve {
namespace {

using testing::AffineModel;
using testing::StartServer;
using testing::TestRepository;

// The value of the sample `series` (name and labels) in Prometheus text; -1 when absent.
double Sample(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

InferRequest Rows(const std::string& model, int64_t rows, int64_t width, float first) {
  std::vector<float> values(static_cast<size_t>(rows * width));
  for (size_t i = 0; i < values.size(); ++i) values[i] = first + static_cast<float>(i);
  InferRequest r;
  r.model_name = model;
  r.inputs.push_back({"x", Tensor::FromVector(DType::kFloat32, {rows, width}, values)});
  return r;
}

// Sends every request from its own thread at once and returns the answers in order.
std::vector<StatusOr<InferResponse>> InferConcurrently(InferenceServer& server,
                                                       const std::vector<InferRequest>& requests) {
  std::vector<std::future<StatusOr<InferResponse>>> futures;
  for (const InferRequest& r : requests)
    futures.push_back(std::async(std::launch::async, [&server, r] { return server.Infer(r); }));
  std::vector<StatusOr<InferResponse>> out;
  for (auto& f : futures) out.push_back(f.get());
  return out;
}

// y = softmax(x W + b) on [N, 4] -> [N, 3]: rows mix inputs, so a wrong split shows up in the values.
tessera::testing::OnnxBuilder DenseModel() {
  tessera::testing::OnnxBuilder b;
  b.Input("x", DType::kFloat32, {-1, 4});
  b.Initializer("w", {0.1f, -0.2f, 0.3f, 0.4f, 0.5f, -0.6f, -0.7f, 0.8f, 0.9f, 1.0f, -1.1f, 1.2f}, {4, 3});
  b.Initializer("b", {0.01f, 0.02f, -0.03f}, {3});
  b.Node("MatMul", {"x", "w"}, {"xw"});
  b.Node("Add", {"xw", "b"}, {"z"});
  b.Node("Softmax", {"z"}, {"y"});
  b.Output("y", DType::kFloat32, {-1, 3});
  return b;
}

constexpr const char* kWaitForEight =
    R"({"max_batch_size": 8, "dynamic_batching": {"preferred_batch_size": [8], "max_queue_delay_microseconds": 30000000}})";

TEST(InferenceServerBatchingTest, ConcurrentRequestsAreMergedIntoOneRun) {
  TestRepository repo;
  repo.AddModel("affine", "1", AffineModel());
  repo.WriteConfig("affine", kWaitForEight);
  auto server = StartServer(repo.root());
  ASSERT_TRUE(server);
  // 2+1+1+2+1+1 = 8 rows: the batch is full only once all six have arrived, and then runs at once.
  std::vector<int64_t> rows = {2, 1, 1, 2, 1, 1};
  std::vector<InferRequest> requests;
  for (size_t i = 0; i < rows.size(); ++i)
    requests.push_back(Rows("affine", rows[i], 4, 100.0f * static_cast<float>(i)));
  auto answers = InferConcurrently(*server, requests);
  for (size_t i = 0; i < answers.size(); ++i) {
    ASSERT_TRUE(answers[i].ok()) << answers[i].status().ToString();
    const Tensor& y = answers[i]->outputs[0].tensor;
    ASSERT_EQ(y.shape(), (Shape{rows[i], 4}));
    for (int64_t k = 0; k < y.element_count(); ++k) {
      EXPECT_FLOAT_EQ(y.data<float>()[k], 2 * (100.0f * static_cast<float>(i) + static_cast<float>(k)) + 1)
          << "request " << i;
    }
  }
  std::string text = server->MetricsText();
  EXPECT_EQ(Sample(text, "tessera_batch_size_count{model=\"affine\",version=\"1\"}"), 1) << text;
  EXPECT_EQ(Sample(text, "tessera_batch_size_sum{model=\"affine\",version=\"1\"}"), 8) << text;
  EXPECT_EQ(Sample(text, "tessera_request_queue_seconds_count{model=\"affine\",version=\"1\"}"), 6) << text;
}

TEST(InferenceServerBatchingTest, BatchedOutputsEqualUnbatchedOnes) {
  TestRepository repo;
  repo.AddModel("dense", "1", DenseModel());
  repo.AddModel("dense_batched", "1", DenseModel());
  repo.WriteConfig("dense_batched", kWaitForEight);
  auto server = StartServer(repo.root());
  ASSERT_TRUE(server);
  std::vector<InferRequest> alone, merged;
  for (int i = 0; i < 8; ++i) {
    alone.push_back(Rows("dense", 1, 4, -1.0f + 0.37f * static_cast<float>(i)));
    merged.push_back(alone.back());
    merged.back().model_name = "dense_batched";
  }
  auto batched = InferConcurrently(*server, merged);
  for (int i = 0; i < 8; ++i) {
    auto reference = server->Infer(alone[static_cast<size_t>(i)]);
    ASSERT_TRUE(reference.ok() && batched[static_cast<size_t>(i)].ok());
    const Tensor& a = reference->outputs[0].tensor;
    const Tensor& b = batched[static_cast<size_t>(i)]->outputs[0].tensor;
    ASSERT_EQ(a.shape(), b.shape());
    for (int64_t k = 0; k < a.element_count(); ++k)
      EXPECT_NEAR(a.data<float>()[k], b.data<float>()[k], 1e-6) << "request " << i;
  }
  std::string text = server->MetricsText();
  EXPECT_EQ(Sample(text, "tessera_batch_size_count{model=\"dense_batched\",version=\"1\"}"), 1) << text;
  EXPECT_EQ(Sample(text, "tessera_batch_size_count{model=\"dense\",version=\"1\"}"), 8) << text;
}

TEST(InferenceServerBatchingTest, RequestsWithDifferentNonBatchDimsAreNotMerged) {
  tessera::testing::OnnxBuilder relu;
  relu.Input("x", DType::kFloat32, {-1, -1});
  relu.Node("Relu", {"x"}, {"y"});
  relu.Output("y", DType::kFloat32, {-1, -1});
  TestRepository repo;
  repo.AddModel("relu", "1", relu);
  repo.WriteConfig("relu", R"({"max_batch_size": 2, "dynamic_batching": {"max_queue_delay_microseconds": 30000000}})");
  auto server = StartServer(repo.root());
  ASSERT_TRUE(server);
  auto answers = InferConcurrently(
      *server, {Rows("relu", 1, 3, -1), Rows("relu", 1, 5, -2), Rows("relu", 1, 3, 0), Rows("relu", 1, 5, 1)});
  for (auto& a : answers) ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(answers[1]->outputs[0].tensor.shape(), (Shape{1, 5}));
  EXPECT_EQ(answers[1]->outputs[0].tensor.data<float>()[3], 1.0f);
  std::string text = server->MetricsText();
  EXPECT_EQ(Sample(text, "tessera_batch_size_count{model=\"relu\",version=\"1\"}"), 2) << text;
  EXPECT_EQ(Sample(text, "tessera_batch_size_sum{model=\"relu\",version=\"1\"}"), 4) << text;
}

TEST(InferenceServerBatchingTest, ABadRequestFailsAloneWhenItsBatchFails) {
  // out = table[idx]: an index out of range fails the merged run; the retry isolates it.
  tessera::testing::OnnxBuilder gather;
  gather.Input("idx", DType::kInt64, {-1});
  gather.Initializer("table", {10, 11, 12, 13, 14}, {5});
  gather.Node("Gather", {"table", "idx"}, {"out"});
  gather.Output("out", DType::kFloat32, {-1});
  TestRepository repo;
  repo.AddModel("lookup", "1", gather);
  repo.WriteConfig("lookup",
                   R"({"max_batch_size": 3, "dynamic_batching": {"max_queue_delay_microseconds": 30000000}})");
  auto server = StartServer(repo.root());
  ASSERT_TRUE(server);
  std::vector<InferRequest> requests;
  for (int64_t index : {1, 99, 4}) {
    InferRequest r;
    r.model_name = "lookup";
    r.inputs.push_back({"idx", Tensor::FromVector(DType::kInt64, {1}, std::vector<int64_t>{index})});
    requests.push_back(r);
  }
  auto answers = InferConcurrently(*server, requests);
  ASSERT_TRUE(answers[0].ok()) << answers[0].status().ToString();
  EXPECT_EQ(answers[0]->outputs[0].tensor.data<float>()[0], 11.0f);
  EXPECT_FALSE(answers[1].ok());
  ASSERT_TRUE(answers[2].ok()) << answers[2].status().ToString();
  EXPECT_EQ(answers[2]->outputs[0].tensor.data<float>()[0], 14.0f);
  std::string text = server->MetricsText();
  EXPECT_EQ(Sample(text, "tessera_batch_size_count{model=\"lookup\",version=\"1\"}"), 4) << text;  // merged + 3 alone
  EXPECT_EQ(Sample(text, "tessera_requests_total{model=\"lookup\",version=\"1\",outcome=\"failure\"}"), 1) << text;
}

TEST(InferenceServerBatchingTest, EveryInstanceIsListedWithItsBusyTime) {
  TestRepository repo;
  repo.AddModel("affine", "1", AffineModel());
  repo.WriteConfig("affine", R"({"instance_count": 3, "threads": 1})");
  auto server = StartServer(repo.root());
  ASSERT_TRUE(server);
  std::vector<InferRequest> requests(12, Rows("affine", 1, 4, 0));
  for (auto& a : InferConcurrently(*server, requests)) ASSERT_TRUE(a.ok());
  std::string text = server->MetricsText();
  double total = 0;
  for (int i = 0; i < 3; ++i) {
    double busy = Sample(text, "tessera_instance_busy_seconds_total{model=\"affine\",version=\"1\",instance=\"" +
                                   std::to_string(i) + "\"}");
    EXPECT_GE(busy, 0) << text;
    total += busy;
  }
  EXPECT_GT(total, 0);
  EXPECT_EQ(Sample(text, "tessera_batch_size_count{model=\"affine\",version=\"1\"}"), 12) << text;
}

}  // namespace
}  // namespace tessera::serve
