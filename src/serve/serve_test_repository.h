// Test-only: model repositories on disk built from small in-memory models, and a server over one.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "serve/inference_server.h"
#include "testing/onnx_builder.h"

namespace tessera::serve::testing {

// y = x * 2 + 1 on float [N, 4] (N dynamic unless `batch` is given): batchable, and each row's answer is
// known without running anything.
inline tessera::testing::OnnxBuilder AffineModel(int64_t batch = -1) {
  tessera::testing::OnnxBuilder b;
  b.Input("x", DType::kFloat32, {batch, 4});
  b.Initializer("two", {2.0f}, {});
  b.Initializer("one", {1.0f}, {});
  b.Node("Mul", {"x", "two"}, {"x2"});
  b.Node("Add", {"x2", "one"}, {"y"});
  b.Output("y", DType::kFloat32, {batch, 4});
  return b;
}

// A fresh empty repository folder.
class TestRepository {
 public:
  TestRepository() : root_(tessera::testing::OnnxBuilder::MakeTempDir()) {}
  ~TestRepository() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  const std::string& root() const { return root_; }

  // Writes `model` as REPO/<name>/<version>/model.onnx.
  void AddModel(const std::string& name, const std::string& version, const tessera::testing::OnnxBuilder& model) {
    std::filesystem::create_directories(root_ + "/" + name + "/" + version);
    std::ofstream(root_ + "/" + name + "/" + version + "/model.onnx", std::ios::binary) << model.Serialize();
  }
  void WriteConfig(const std::string& name, const std::string& json) {
    std::filesystem::create_directories(root_ + "/" + name);
    std::ofstream(root_ + "/" + name + "/config.json") << json;
  }

 private:
  std::string root_;
};

// A server over `repo` with one intra-op thread per instance; null (and a test failure) when it does not start.
inline std::unique_ptr<InferenceServer> StartServer(const std::string& repo, int timeout_ms = 60000) {
  ServerOptions options;
  options.model_repo = repo;
  options.default_threads = 1;
  options.request_timeout_ms = timeout_ms;
  auto server = CreateInferenceServer(options);
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  return server.ok() ? std::move(*server) : nullptr;
}

}  // namespace tessera::serve::testing
