// Partitioner behaviour on small graphs: balanced cuts, forwarded skip connections, cheap cuts
// preferred, constant-only nodes copied where needed, impossible plans refused.
#include "parallel/pipeline/pipeline_partition.h"

#include <gtest/gtest.h>

#include "model/onnx_loader.h"
#include "testing/onnx_builder.h"

namespace tessera {
namespace {

using testing::OnnxBuilder;

Model Load(const OnnxBuilder& b) {
  auto model = LoadModelFromBytes(b.Serialize(), "", "m.onnx");
  EXPECT_TRUE(model.ok()) << model.status().message();
  return std::move(model).value();
}

// x [1,64] -> n MatMuls by 64x64 weights: every node costs the same, every cut moves the same bytes.
Model MatMulChain(int n) {
  OnnxBuilder b;
  b.Input("x", DType::kFloat32, {1, 64});
  std::string prev = "x";
  for (int i = 0; i < n; ++i) {
    std::string w = "w" + std::to_string(i), y = "y" + std::to_string(i);
    b.Initializer(w, std::vector<float>(64 * 64, 0.5f), {64, 64});
    b.Node("MatMul", {prev, w}, {y}, "mm" + std::to_string(i));
    prev = y;
  }
  b.Output(prev, DType::kFloat32, {1, 64});
  return Load(b);
}

PipelinePartitionOptions Stages(int p) {
  PipelinePartitionOptions options;
  options.stages = p;
  return options;
}

int Id(const Graph& g, const std::string& name) { return g.value_ids.at(name); }

TEST(PipelinePartitionTest, EqualNodesSplitEvenlyOnAChain) {
  Model m = MatMulChain(8);
  for (int p : {1, 2, 4, 8}) {
    auto part = PartitionPipeline(*m.graph, Stages(p));
    ASSERT_TRUE(part.ok()) << part.status().message();
    ASSERT_EQ(part->stages.size(), static_cast<size_t>(p));
    size_t expected_first = 0;
    for (const PipelineStage& s : part->stages) {
      EXPECT_EQ(s.first_node, expected_first) << "p=" << p;
      EXPECT_EQ(s.end_node - s.first_node, static_cast<size_t>(8 / p)) << "p=" << p;
      EXPECT_DOUBLE_EQ(s.weight_bytes, 64.0 * 64 * 4 * (8 / p));
      expected_first = s.end_node;
    }
    EXPECT_EQ(part->stages.back().graph_outputs, std::vector<int>{Id(*m.graph, "y7")});
    EXPECT_EQ(part->graph_output_stage, std::vector<int>{p - 1});
  }
}

TEST(PipelinePartitionTest, StageInterfacesChainTogether) {
  Model m = MatMulChain(6);
  auto part = PartitionPipeline(*m.graph, Stages(3));
  ASSERT_TRUE(part.ok()) << part.status().message();
  const auto& st = part->stages;
  EXPECT_EQ(st[0].receives, std::vector<int>{Id(*m.graph, "x")});
  EXPECT_EQ(st[0].inputs, std::vector<int>{Id(*m.graph, "x")});
  EXPECT_EQ(st[0].sends, std::vector<int>{Id(*m.graph, "y1")});
  EXPECT_EQ(st[0].outputs, std::vector<int>{Id(*m.graph, "y1")});
  EXPECT_EQ(st[1].receives, st[0].sends);
  EXPECT_EQ(st[1].sends, std::vector<int>{Id(*m.graph, "y3")});
  EXPECT_EQ(st[2].receives, st[1].sends);
  EXPECT_TRUE(st[2].sends.empty());
  EXPECT_EQ(st[2].outputs, std::vector<int>{Id(*m.graph, "y5")});
  EXPECT_TRUE(st[0].graph_outputs.empty());
}

TEST(PipelinePartitionTest, SkipConnectionIsForwardedThroughTheStageBetween) {
  // a = relu(x); b..e = a chain of MatMuls; out = e + a. In three stages, the middle one never reads
  // `a` but must pass it on.
  OnnxBuilder b;
  b.Input("x", DType::kFloat32, {1, 64});
  b.Node("Relu", {"x"}, {"a"}, "relu");
  std::string prev = "a";
  for (int i = 0; i < 6; ++i) {
    std::string w = "w" + std::to_string(i), y = "y" + std::to_string(i);
    b.Initializer(w, std::vector<float>(64 * 64, 0.5f), {64, 64});
    b.Node("MatMul", {prev, w}, {y}, "mm" + std::to_string(i));
    prev = y;
  }
  b.Node("Add", {prev, "a"}, {"out"}, "residual");
  b.Output("out", DType::kFloat32, {1, 64});
  Model m = Load(b);
  auto part = PartitionPipeline(*m.graph, Stages(3));
  ASSERT_TRUE(part.ok()) << part.status().message();
  const int a = Id(*m.graph, "a");
  const PipelineStage& middle = part->stages[1];
  auto has = [](const std::vector<int>& v, int id) { return std::find(v.begin(), v.end(), id) != v.end(); };
  EXPECT_TRUE(has(part->stages[0].sends, a));
  EXPECT_TRUE(has(middle.receives, a));
  EXPECT_TRUE(has(middle.sends, a));
  EXPECT_FALSE(has(middle.inputs, a)) << "the middle stage forwards `a` without reading it";
  EXPECT_FALSE(has(middle.outputs, a)) << "forwarded values do not go through the stage graph";
  EXPECT_TRUE(has(part->stages[2].inputs, a));
}

TEST(PipelinePartitionTest, PrefersTheCutWhereFewerBytesCross) {
  // Three nodes of equal measured time; two stages can cut after the first (a 4096-float activation
  // crosses) or after the second (one float crosses): both are equally balanced, the second is cheaper.
  OnnxBuilder b;
  b.Input("x", DType::kFloat32, {1, 4096});
  b.Node("Relu", {"x"}, {"wide"}, "relu");
  auto& reduce = b.Node("ReduceMax", {"wide"}, {"narrow"}, "reduce");
  OnnxBuilder::IntAttribute(reduce, "keepdims", 1);
  b.Node("Relu", {"narrow"}, {"out"}, "relu2");
  b.Output("out", DType::kFloat32, {1, 1});
  Model m = Load(b);
  PipelinePartitionOptions options = Stages(2);
  options.node_seconds = {1e-3, 1e-3, 1e-3};
  auto part = PartitionPipeline(*m.graph, options);
  ASSERT_TRUE(part.ok()) << part.status().message();
  EXPECT_TRUE(part->measured);
  EXPECT_EQ(part->stages[0].end_node, 2u);
  EXPECT_EQ(part->stages[0].sends, std::vector<int>{Id(*m.graph, "narrow")});
  EXPECT_DOUBLE_EQ(part->stages[0].send_bytes, 4.0);

  // Measured times override the cost model: a slow last node pulls the cut forward.
  options.node_seconds = {1e-3, 1e-3, 5e-3};
  part = PartitionPipeline(*m.graph, options);
  ASSERT_TRUE(part.ok()) << part.status().message();
  EXPECT_EQ(part->stages[1].first_node, 2u);
}

TEST(PipelinePartitionTest, ConstantOnlyNodesAreCopiedIntoTheStageThatNeedsThem) {
  // wt = Transpose(w) comes first in the order but only the last MatMul reads it: it is not a cut
  // position and the last stage runs it itself instead of receiving its result.
  OnnxBuilder b;
  b.Input("x", DType::kFloat32, {1, 64});
  b.Initializer("w", std::vector<float>(64 * 64, 0.25f), {64, 64});
  b.Node("Transpose", {"w"}, {"wt"}, "transpose_w");
  b.Node("Relu", {"x"}, {"a"}, "relu");
  b.Node("MatMul", {"a", "w"}, {"b"}, "mm0");
  b.Node("MatMul", {"b", "wt"}, {"out"}, "mm1");
  b.Output("out", DType::kFloat32, {1, 64});
  Model m = Load(b);
  auto part = PartitionPipeline(*m.graph, Stages(3));
  ASSERT_TRUE(part.ok()) << part.status().message();
  const PipelineStage& last = part->stages[2];
  EXPECT_EQ(last.nodes, (std::vector<size_t>{0, 3}));
  EXPECT_EQ(last.inputs, std::vector<int>{Id(*m.graph, "b")});
  EXPECT_EQ(part->stages[1].sends, std::vector<int>{Id(*m.graph, "b")}) << "wt never travels";
  EXPECT_EQ(part->stages[0].nodes, std::vector<size_t>{1});
}

TEST(PipelinePartitionTest, InputReadOnlyByALaterStageTravelsThere) {
  OnnxBuilder b;
  b.Input("x", DType::kFloat32, {1, 8});
  b.Input("bias", DType::kFloat32, {1, 8});
  b.Node("Relu", {"x"}, {"a"}, "relu");
  b.Node("Sigmoid", {"a"}, {"c"}, "sigmoid");
  b.Node("Add", {"c", "bias"}, {"out"}, "add");
  b.Output("out", DType::kFloat32, {1, 8});
  Model m = Load(b);
  auto part = PartitionPipeline(*m.graph, Stages(3));
  ASSERT_TRUE(part.ok()) << part.status().message();
  const int bias = Id(*m.graph, "bias");
  EXPECT_EQ(part->stages[0].receives.size(), 2u);
  EXPECT_EQ(part->stages[0].inputs, std::vector<int>{Id(*m.graph, "x")});
  EXPECT_EQ(part->stages[1].receives, (std::vector<int>{bias, Id(*m.graph, "a")}));
  EXPECT_EQ(part->stages[2].inputs, (std::vector<int>{bias, Id(*m.graph, "c")}));
}

TEST(PipelinePartitionTest, MoreStagesThanNodesIsRefused) {
  Model m = MatMulChain(3);
  auto part = PartitionPipeline(*m.graph, Stages(4));
  ASSERT_FALSE(part.ok());
  EXPECT_NE(part.status().message().find("into 4 pipeline stages"), std::string::npos) << part.status().message();
  EXPECT_NE(part.status().message().find("--pp 3 or fewer"), std::string::npos) << part.status().message();
  EXPECT_FALSE(PartitionPipeline(*m.graph, Stages(0)).ok());
}

TEST(PipelinePartitionTest, ConstantOnlyNodesAreNotCutPoints) {
  OnnxBuilder b;
  b.Input("x", DType::kFloat32, {1, 8});
  b.Initializer("w", std::vector<float>(8, 1.0f), {1, 8});
  b.Node("Neg", {"w"}, {"nw"}, "neg");
  b.Node("Add", {"x", "nw"}, {"out"}, "add");
  b.Output("out", DType::kFloat32, {1, 8});
  Model m = Load(b);
  auto part = PartitionPipeline(*m.graph, Stages(2));
  ASSERT_FALSE(part.ok());
  EXPECT_NE(part.status().message().find("1 node(s) that depend on its inputs"), std::string::npos)
      << part.status().message();
}

TEST(PipelinePartitionTest, WrongNumberOfMeasuredTimesIsRefused) {
  Model m = MatMulChain(4);
  PipelinePartitionOptions options = Stages(2);
  options.node_seconds = {1.0};
  EXPECT_FALSE(PartitionPipeline(*m.graph, options).ok());
}

TEST(PipelinePartitionTest, DescriptionNamesEveryStage) {
  Model m = MatMulChain(4);
  auto part = PartitionPipeline(*m.graph, Stages(2));
  ASSERT_TRUE(part.ok());
  std::string text = DescribePipelinePartition(*m.graph, *part);
  EXPECT_NE(text.find("stage 0: nodes 0-1 (mm0 .. mm1)"), std::string::npos) << text;
  EXPECT_NE(text.find("stage 1: nodes 2-3 (mm2 .. mm3)"), std::string::npos) << text;
}

}  // namespace
}  // namespace tessera
