#include "serve/inference_server.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/npy.h"
#include "serve/model_repository.h"
#include "serve/serve_test_repository.h"

namespace tessera::serve {
namespace {

using testing::AffineModel;
using testing::StartServer;
using testing::TestRepository;

InferRequest AffineRequest(const std::string& model, std::vector<float> values, int64_t rows) {
  InferRequest r;
  r.model_name = model;
  r.inputs.push_back({"x", Tensor::FromVector(DType::kFloat32, {rows, 4}, values)});
  return r;
}

TEST(InferenceServerTest, BundledExampleAnswersLikeTheReference) {
  ServerOptions options;
  options.default_threads = 1;
  auto server = CreateInferenceServer(options);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_TRUE((*server)->Ready());
  auto model_path = FindBundledExampleModel();
  ASSERT_TRUE(model_path.ok());
  std::filesystem::path dir = std::filesystem::path(*model_path).parent_path();
  auto input = ReadNpy((dir / "inputs" / "input.npy").string());
  auto expected = ReadNpy((dir / "expected" / "output.npy").string());
  ASSERT_TRUE(input.ok() && expected.ok());

  InferRequest request;
  request.model_name = "tiny_cnn";
  request.id = "req-7";
  request.inputs.push_back({"input", *input});
  auto response = (*server)->Infer(request);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->model_version, "1");
  EXPECT_EQ(response->id, "req-7");
  ASSERT_EQ(response->outputs.size(), 1u);
  const Tensor& out = response->outputs[0].tensor;
  ASSERT_EQ(out.shape(), expected->shape());
  for (int64_t i = 0; i < out.element_count(); ++i) EXPECT_NEAR(out.data<float>()[i], expected->data<float>()[i], 1e-4);
}

TEST(InferenceServerTest, ServesTheHighestVersion) {
  TestRepository repo;
  repo.AddModel("affine", "1", AffineModel());
  repo.AddModel("affine", "10", AffineModel());
  repo.AddModel("affine", "9", AffineModel());
  auto server = StartServer(repo.root());
  ASSERT_TRUE(server);
  auto response = server->Infer(AffineRequest("affine", {1, 2, 3, 4}, 1));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->model_version, "10");
  EXPECT_FLOAT_EQ(response->outputs[0].tensor.data<float>()[3], 9.0f);
  auto metadata = server->GetModelMetadata("affine", "");
  ASSERT_TRUE(metadata.ok());
  EXPECT_EQ(metadata->versions, std::vector<std::string>{"10"});
  ASSERT_EQ(metadata->inputs.size(), 1u);
  EXPECT_EQ(metadata->inputs[0].shape, (std::vector<int64_t>{-1, 4}));
  EXPECT_EQ(metadata->inputs[0].dtype, DType::kFloat32);

  EXPECT_EQ(server->ModelReady("affine", "10").value(), true);
  EXPECT_EQ(server->ModelReady("affine", "1").value(), false);  // on disk, not served
  EXPECT_EQ(server->ModelReady("affine", "3").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(server->ModelReady("nothing", "").status().code(), StatusCode::kNotFound);
}

TEST(InferenceServerTest, VersionPolicyLoadsSeveralVersions) {
  TestRepository repo;
  for (const char* v : {"1", "2", "3"}) repo.AddModel("affine", v, AffineModel());
  repo.WriteConfig("affine", R"({"version_policy": {"specific": {"versions": [1, 3]}}})");
  auto server = StartServer(repo.root());
  ASSERT_TRUE(server);
  for (const char* v : {"1", "3", ""}) {
    InferRequest r = AffineRequest("affine", {1, 2, 3, 4}, 1);
    r.model_version = v;
    auto response = server->Infer(r);
    ASSERT_TRUE(response.ok()) << v << ": " << response.status().ToString();
    EXPECT_EQ(response->model_version, *v ? v : "3");
  }
  InferRequest r = AffineRequest("affine", {1, 2, 3, 4}, 1);
  r.model_version = "2";
  EXPECT_EQ(server->Infer(r).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(server->ModelReady("affine", "2").value(), false);
  EXPECT_EQ(server->GetModelMetadata("affine", "").value().versions, (std::vector<std::string>{"1", "3"}));
  int rows = 0;
  for (const RepositoryEntry& e : server->RepositoryIndex()) rows += e.name == "affine" && e.state == "READY";
  EXPECT_EQ(rows, 2);
}

TEST(InferenceServerTest, UnknownModelAndVersionAreNotFound) {
  TestRepository repo;
  repo.AddModel("affine", "1", AffineModel());
  auto server = StartServer(repo.root());
  ASSERT_TRUE(server);
  EXPECT_EQ(server->Infer(AffineRequest("other", {1, 2, 3, 4}, 1)).status().code(), StatusCode::kNotFound);
  InferRequest r = AffineRequest("affine", {1, 2, 3, 4}, 1);
  r.model_version = "2";
  auto response = server->Infer(r);
  EXPECT_EQ(response.status().code(), StatusCode::kNotFound);
  EXPECT_NE(response.status().message().find("version '2'"), std::string::npos) << response.status().message();
  r.model_name = "../affine";
  EXPECT_EQ(server->Infer(r).status().code(), StatusCode::kNotFound);
}

TEST(InferenceServerTest, InvalidRequestFailsAloneAndIsCounted) {
  TestRepository repo;
  repo.AddModel("affine", "1", AffineModel());
  auto server = StartServer(repo.root());
  ASSERT_TRUE(server);
  InferRequest bad = AffineRequest("affine", {1, 2, 3}, 1);
  bad.inputs[0].tensor = Tensor::FromVector(DType::kFloat32, {1, 3}, std::vector<float>{1, 2, 3});
  auto response = server->Infer(bad);
  EXPECT_EQ(response.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(response.status().message().find("affine"), std::string::npos);
  EXPECT_TRUE(server->Infer(AffineRequest("affine", {1, 2, 3, 4}, 1)).ok());
  std::string text = server->MetricsText();
  EXPECT_NE(text.find("tessera_requests_total{model=\"affine\",version=\"1\",outcome=\"failure\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("tessera_requests_total{model=\"affine\",version=\"1\",outcome=\"success\"} 1"),
            std::string::npos)
      << text;
}

TEST(InferenceServerTest, MissingRepositoryIsAnError) {
  ServerOptions options;
  options.model_repo = "/nonexistent/tessera/repo";
  auto server = CreateInferenceServer(options);
  EXPECT_EQ(server.status().code(), StatusCode::kNotFound);
}

TEST(InferenceServerTest, BrokenModelLeavesServerUpButNotReady) {
  TestRepository repo;
  repo.AddModel("affine", "1", AffineModel());
  std::filesystem::create_directories(repo.root() + "/broken/1");
  std::ofstream(repo.root() + "/broken/1/model.onnx") << "not a model";
  auto server = StartServer(repo.root());
  ASSERT_TRUE(server);
  EXPECT_TRUE(server->Live());
  EXPECT_FALSE(server->Ready());
  EXPECT_TRUE(server->Infer(AffineRequest("affine", {1, 2, 3, 4}, 1)).ok());
  EXPECT_EQ(server->Infer(AffineRequest("broken", {1, 2, 3, 4}, 1)).status().code(), StatusCode::kUnavailable);
  bool seen = false;
  for (const RepositoryEntry& e : server->RepositoryIndex()) {
    if (e.name != "broken") continue;
    seen = true;
    EXPECT_EQ(e.state, "UNAVAILABLE");
    EXPECT_FALSE(e.reason.empty());
  }
  EXPECT_TRUE(seen);
}

}  // namespace
}  // namespace tessera::serve
