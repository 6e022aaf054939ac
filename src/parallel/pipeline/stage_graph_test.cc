// Stage extraction: each stage graph keeps only its nodes and weights, and the stages chained by hand
// compute what the whole model computes.
#include "parallel/pipeline/stage_graph.h"

#include <gtest/gtest.h>

#include <random>

#include "model/onnx_loader.h"
#include "testing/onnx_builder.h"

namespace tessera {
namespace {

using testing::OnnxBuilder;

// x [2,16] -> relu -> 4 MatMuls by distinct random 16x16 weights, with a skip: out = mm3 + relu.
OnnxBuilder SkipChain(uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-0.5f, 0.5f);
  OnnxBuilder b;
  b.Input("x", DType::kFloat32, {-1, 16});
  b.Node("Relu", {"x"}, {"a"}, "relu");
  std::string prev = "a";
  for (int i = 0; i < 4; ++i) {
    std::vector<float> w(16 * 16);
    for (float& v : w) v = dist(rng);
    std::string name = "w" + std::to_string(i), y = "y" + std::to_string(i);
    b.Initializer(name, w, {16, 16});
    b.Node("MatMul", {prev, name}, {y}, "mm" + std::to_string(i));
    prev = y;
  }
  b.Node("Add", {prev, "a"}, {"out"}, "residual");
  b.Output("out", DType::kFloat32, {-1, 16});
  return b;
}

StatusOr<std::unique_ptr<Session>> StageSession(const OnnxBuilder& b, int stages, int stage, PipelinePartition* seen) {
  auto model = LoadModelFromBytes(b.Serialize(), "", "skip.onnx");
  if (!model.ok()) return model.status();
  SessionOptions options;
  options.threads = 1;
  return CreateSessionFromModel(std::move(model).value(), options, [&](Graph& graph) -> Status {
    PipelinePartitionOptions po;
    po.stages = stages;
    TS_ASSIGN_OR_RETURN(*seen, PartitionPipeline(graph, po));
    TS_RETURN_IF_ERROR(ExtractPipelineStage(graph, seen->stages[static_cast<size_t>(stage)]));
    EXPECT_EQ(graph.nodes.size(), seen->stages[static_cast<size_t>(stage)].nodes.size());
    size_t weights = 0;
    for (const auto& [id, t] : graph.constants) weights += t.byte_size();
    EXPECT_DOUBLE_EQ(static_cast<double>(weights), seen->stages[static_cast<size_t>(stage)].weight_bytes)
        << "stage " << stage << " keeps only the weights its nodes read";
    return Status::Ok();
  });
}

TEST(StageGraphTest, ChainedStagesComputeTheWholeModel) {
  const uint32_t seed = 1234;
  OnnxBuilder b = SkipChain(seed);
  auto whole_model = LoadModelFromBytes(b.Serialize(), "", "skip.onnx");
  ASSERT_TRUE(whole_model.ok());
  SessionOptions options;
  options.threads = 1;
  auto whole = CreateSessionFromModel(std::move(whole_model).value(), options);
  ASSERT_TRUE(whole.ok()) << whole.status().message();
  std::vector<float> xs(2 * 16);
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<float>(i % 7) - 3.0f;
  Tensor x = Tensor::FromVector<float>(DType::kFloat32, {2, 16}, xs);
  auto expected = (*whole)->Run({{"x", x}});
  ASSERT_TRUE(expected.ok()) << expected.status().message();

  for (int stages : {2, 3}) {
    // Values by name as they travel from stage to stage.
    std::map<std::string, Tensor> wire{{"x", x}};
    for (int s = 0; s < stages; ++s) {
      PipelinePartition partition;
      auto session = StageSession(b, stages, s, &partition);
      ASSERT_TRUE(session.ok()) << session.status().message();
      std::vector<std::pair<std::string, Tensor>> feeds;
      for (const TensorInfo& in : (*session)->inputs()) {
        ASSERT_TRUE(wire.count(in.name)) << "stage " << s << " input " << in.name << " never arrived";
        feeds.emplace_back(in.name, wire[in.name]);
      }
      auto out = (*session)->Run(feeds);
      ASSERT_TRUE(out.ok()) << out.status().message();
      for (size_t k = 0; k < out->size(); ++k) wire[(*session)->outputs()[k].name] = (*out)[k];
    }
    ASSERT_TRUE(wire.count("out"));
    const Tensor& got = wire["out"];
    ASSERT_EQ(got.shape(), (*expected)[0].shape());
    for (int64_t i = 0; i < got.element_count(); ++i) {
      EXPECT_FLOAT_EQ(got.data<float>()[i], (*expected)[0].data<float>()[i]) << "seed " << seed << ", " << stages << " stages";
    }
  }
}

TEST(StageGraphTest, AStageFromAnotherGraphIsRefused) {
  OnnxBuilder b = SkipChain(7);
  auto model = LoadModelFromBytes(b.Serialize(), "", "skip.onnx");
  ASSERT_TRUE(model.ok());
  PipelineStage stage;
  stage.nodes = {0, 99};
  Status s = ExtractPipelineStage(*model->graph, stage);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("node 99"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace tessera
