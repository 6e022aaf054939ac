// Ensembles in a world of one: every model runs on rank 0, outputs combine in model order, and a model
// that lacks one of the inputs is named. Placement over larger worlds is round-robin.
#include "parallel/ensemble/ensemble.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/npy.h"
#include "parallel/comm/local_communicator.h"
#include "testing/onnx_builder.h"

namespace tessera {
namespace {

using testing::OnnxBuilder;

// x [2,3] -> `op` -> y [2,3]
std::string UnaryModel(const std::string& op, const std::string& input = "x") {
  OnnxBuilder b;
  b.Input(input, DType::kFloat32, {2, 3});
  b.Node(op, {input}, {"y"});
  b.Output("y", DType::kFloat32, {2, 3});
  return b.WriteTemp();
}

TEST(EnsembleTest, PlacementIsRoundRobin) {
  EXPECT_EQ(EnsembleModelsOfRank(5, 0, 2), (std::vector<size_t>{0, 2, 4}));
  EXPECT_EQ(EnsembleModelsOfRank(5, 1, 2), (std::vector<size_t>{1, 3}));
  EXPECT_EQ(EnsembleModelsOfRank(2, 2, 3), (std::vector<size_t>{}));  // more ranks than models: idle
  EXPECT_EQ(EnsembleModelsOfRank(3, 0, 1), (std::vector<size_t>{0, 1, 2}));
}

TEST(EnsembleTest, WorldOfOneRunsEveryModelAndCombinesInModelOrder) {
  const std::string relu = UnaryModel("Relu"), neg = UnaryModel("Neg");
  const std::string dir = std::filesystem::path(relu).parent_path().string();
  const std::vector<float> x = {-1.f, 2.f, -3.f, 4.f, 0.5f, -0.5f};
  ASSERT_TRUE(WriteNpy(dir + "/x.npy", Tensor::FromVector(DType::kFloat32, {2, 3}, x)).ok());

  LocalCommunicator comm;
  EnsembleRequest request{{relu, neg}, {{"x", dir + "/x.npy"}}, EnsembleAggregation::kSum, SessionOptions{1}};
  auto sum = RunEnsemble(comm, request);
  ASSERT_TRUE(sum.ok()) << sum.status().message();
  ASSERT_EQ(sum->outputs.size(), 1u);
  EXPECT_EQ(sum->output_names, (std::vector<std::string>{"y"}));
  for (size_t i = 0; i < x.size(); ++i) EXPECT_FLOAT_EQ(sum->outputs[0].data<float>()[i], std::max(x[i], 0.f) - x[i]);

  request.aggregation = EnsembleAggregation::kConcat;
  auto stacked = RunEnsemble(comm, request);
  ASSERT_TRUE(stacked.ok()) << stacked.status().message();
  ASSERT_EQ(stacked->outputs[0].shape(), (Shape{4, 3}));
  EXPECT_FLOAT_EQ(stacked->outputs[0].data<float>()[0], 0.f);   // relu(-1), model 0 first
  EXPECT_FLOAT_EQ(stacked->outputs[0].data<float>()[6], 1.f);   // -(-1), model 1 after
}

TEST(EnsembleTest, ModelWithoutTheInputIsNamed) {
  const std::string relu = UnaryModel("Relu"), other = UnaryModel("Relu", "image");
  const std::string dir = std::filesystem::path(relu).parent_path().string();
  ASSERT_TRUE(WriteNpy(dir + "/x.npy", Tensor::FromVector(DType::kFloat32, {2, 3}, std::vector<float>(6, 1.f))).ok());
  LocalCommunicator comm;
  bool own = false;
  auto result = RunEnsemble(comm, {{relu, other}, {{"x", dir + "/x.npy"}}, EnsembleAggregation::kMean, SessionOptions{1}}, &own);
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(own);
  EXPECT_NE(result.status().message().find("has no input 'x' (inputs: image)"), std::string::npos) << result.status().message();
}

TEST(EnsembleTest, MissingInputFileAndNoModelsAreErrors) {
  const std::string relu = UnaryModel("Relu");
  LocalCommunicator comm;
  auto missing = RunEnsemble(comm, {{relu}, {{"x", "/nonexistent/x.npy"}}, EnsembleAggregation::kSum, SessionOptions{1}});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("input 'x'"), std::string::npos) << missing.status().message();
  EXPECT_FALSE(RunEnsemble(comm, {{}, {}, EnsembleAggregation::kSum, SessionOptions{1}}).ok());
}

}  // namespace
}  // namespace tessera
