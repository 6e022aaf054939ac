// CheckPlanFitsMemory on a two-layer MLP (two 256 KiB weights): a cap below the whole model refuses one
// rank and names the smallest rank count that fits; a cap above it passes.
#include "parallel/planner/memory_fit.h"

#include <gtest/gtest.h>

#include "model/onnx_loader.h"
#include "testing/onnx_builder.h"

namespace tessera {
namespace {

using testing::OnnxBuilder;

constexpr int64_t kIn = 256, kHidden = 256;

Model Mlp() {
  OnnxBuilder b;
  b.Input("x", DType::kFloat32, {1, kIn});
  b.Initializer("w1", std::vector<float>(kIn * kHidden, 0.5f), {kIn, kHidden});
  b.Initializer("w2", std::vector<float>(kHidden * kIn, 0.5f), {kHidden, kIn});
  b.Node("MatMul", {"x", "w1"}, {"h"}, "up");
  b.Node("Relu", {"h"}, {"r"}, "relu");
  b.Node("MatMul", {"r", "w2"}, {"y"}, "down");
  b.Output("y", DType::kFloat32, {1, kIn});
  auto model = LoadModelFromBytes(b.Serialize(), "", "mlp.onnx");
  EXPECT_TRUE(model.ok()) << model.status().message();
  return std::move(model).value();
}

constexpr double kWeightBytes = 2.0 * kIn * kHidden * 4;

TEST(MemoryFitTest, OneRankOverTheCapIsRefusedWithTheRanksThatWouldFit) {
  Model model = Mlp();
  Status s = CheckPlanFitsMemory(*model.graph, "mlp.onnx", PlanSpec{1, 1, 1, 1}, 0.75 * kWeightBytes);
  ASSERT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("model 'mlp.onnx' needs about"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("more than --mem-per-rank"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("it would fit on 2 ranks (--tp 2"), std::string::npos) << s.message();
}

TEST(MemoryFitTest, PlansWithinTheCapPass) {
  Model model = Mlp();
  EXPECT_TRUE(CheckPlanFitsMemory(*model.graph, "mlp.onnx", PlanSpec{1, 1, 1, 1}, 2 * kWeightBytes).ok());
  EXPECT_TRUE(CheckPlanFitsMemory(*model.graph, "mlp.onnx", PlanSpec{1, 1, 2, 1}, 0.75 * kWeightBytes).ok());
}

TEST(MemoryFitTest, NoPlanFitsATinyCap) {
  Model model = Mlp();
  Status s = CheckPlanFitsMemory(*model.graph, "mlp.onnx", PlanSpec{1, 1, 1, 1}, 1024, 4);
  ASSERT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("no plan of pp or tp alone up to 4 ranks fits"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace tessera
