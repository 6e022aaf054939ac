// Measured node times line up with the loaded graph's nodes.
#include "parallel/pipeline/node_times.h"

#include <gtest/gtest.h>

#include "testing/onnx_builder.h"

namespace tessera {
namespace {

using testing::OnnxBuilder;

TEST(NodeTimesTest, EveryNodeOfTheLoadedGraphGetsATime) {
  OnnxBuilder b;
  b.Input("x", DType::kFloat32, {1, 256});
  b.Initializer("w", std::vector<float>(256 * 256, 0.01f), {256, 256});
  b.Node("MatMul", {"x", "w"}, {"m"}, "mm");
  b.Node("Relu", {"m"}, {"r"}, "relu");
  b.Node("Neg", {"w"}, {"nw"}, "neg_w");  // constant-only: folded at load, so it never runs
  b.Node("MatMul", {"r", "nw"}, {"y"}, "mm2");
  b.Output("y", DType::kFloat32, {1, 256});
  SessionOptions options;
  options.threads = 1;
  auto model = LoadForProfiling(b.WriteTemp(), options);
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ(model->node_names, (std::vector<std::string>{"mm", "relu", "neg_w", "mm2"}));
  Tensor x = Tensor::FromVector<float>(DType::kFloat32, {1, 256}, std::vector<float>(256, 1.0f));
  auto seconds = MeasureNodeSeconds(*model, {{"x", x}});
  ASSERT_TRUE(seconds.ok()) << seconds.status().message();
  ASSERT_EQ(seconds->size(), 4u);
  EXPECT_GT((*seconds)[0] + (*seconds)[3], 0.0);
  EXPECT_EQ((*seconds)[2], 0.0) << "a folded node takes no time per run";
  for (double s : *seconds) EXPECT_GE(s, 0.0);
}

TEST(NodeTimesTest, BadFeedsAreAnError) {
  OnnxBuilder b;
  b.Input("x", DType::kFloat32, {1, 4});
  b.Node("Relu", {"x"}, {"y"}, "relu");
  b.Output("y", DType::kFloat32, {1, 4});
  auto model = LoadForProfiling(b.WriteTemp(), {});
  ASSERT_TRUE(model.ok());
  EXPECT_FALSE(MeasureNodeSeconds(*model, {}).ok());
}

}  // namespace
}  // namespace tessera
