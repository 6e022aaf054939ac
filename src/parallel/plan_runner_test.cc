// The plan runner in a world of one: micro-batches (even, uneven, more than rows) give the same
// outputs as one whole-batch run, and bad inputs are errors, not aborts.
#include "parallel/plan_runner.h"

#include <gtest/gtest.h>

#include "parallel/comm/local_communicator.h"
#include "parallel/pipeline/pipeline_schedule.h"
#include "testing/onnx_builder.h"

namespace tessera {
namespace {

using testing::OnnxBuilder;

// x [batch, 8] -> MatMul(w) -> Relu -> y [batch, 4].
std::string TwoOutputModel() {
  OnnxBuilder b;
  b.Input("x", DType::kFloat32, {-1, 8});
  std::vector<float> w(8 * 4);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i % 5) * 0.25f - 0.5f;
  b.Initializer("w", w, {8, 4});
  b.Node("MatMul", {"x", "w"}, {"m"}, "mm");
  b.Node("Relu", {"m"}, {"y"}, "relu");
  b.Output("y", DType::kFloat32, {-1, 4});
  return b.WriteTemp();
}

StatusOr<std::vector<Tensor>> RunWith(const std::string& path, int micro_batches, const Tensor& x) {
  LocalCommunicator world;
  PlanRunnerOptions options;
  options.spec.dp = 1;
  options.spec.micro_batches = micro_batches;
  options.session.threads = 1;
  bool report = false;
  TS_ASSIGN_OR_RETURN(auto runner, PlanRunner::Create(world, path, options, report));
  return runner->Run({x});
}

TEST(PlanRunnerTest, MicroBatchesMatchOneWholeBatchRun) {
  const std::string path = TwoOutputModel();
  std::vector<float> xs(5 * 8);
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<float>((i * 7) % 11) - 5.0f;
  Tensor x = Tensor::FromVector<float>(DType::kFloat32, {5, 8}, xs);
  auto whole = RunWith(path, 1, x);
  ASSERT_TRUE(whole.ok()) << whole.status().message();
  for (int m : {2, 3, 5, 9}) {
    auto parts = RunWith(path, m, x);
    ASSERT_TRUE(parts.ok()) << parts.status().message();
    ASSERT_EQ(parts->size(), 1u);
    ASSERT_EQ((*parts)[0].shape(), (Shape{5, 4})) << m << " micro-batches";
    for (int64_t i = 0; i < 20; ++i) EXPECT_EQ((*parts)[0].data<float>()[i], (*whole)[0].data<float>()[i]) << m;
  }
}

TEST(PlanRunnerTest, MicroBatchCountIsClampedToTheRows) {
  EXPECT_EQ(EffectiveMicroBatches(4, 7), 4);
  EXPECT_EQ(EffectiveMicroBatches(4, 2), 2);
  EXPECT_EQ(EffectiveMicroBatches(0, 3), 1);
  EXPECT_EQ(EffectiveMicroBatches(5, 1), 1);
}

TEST(PlanRunnerTest, MissingInputIsAnErrorOnTheRoot) {
  LocalCommunicator world;
  PlanRunnerOptions options;
  options.spec.dp = 1;
  bool report = false;
  auto runner = PlanRunner::Create(world, TwoOutputModel(), options, report);
  ASSERT_TRUE(runner.ok()) << runner.status().message();
  auto out = (*runner)->Run({Tensor()});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("input 'x' is missing"), std::string::npos) << out.status().message();
}

TEST(PlanRunnerTest, MoreStagesThanTheWorldHoldsNeedAPlanThatFits) {
  // A world of one can still build a two-stage plan's first stage; the error for an impossible stage
  // count comes from the partitioner and is reported by rank 0.
  LocalCommunicator world;
  PlanRunnerOptions options;
  options.spec.dp = 1;
  options.spec.pp = 3;
  bool report = false;
  auto runner = PlanRunner::Create(world, TwoOutputModel(), options, report);
  ASSERT_FALSE(runner.ok());
  EXPECT_TRUE(report);
  EXPECT_NE(runner.status().message().find("into 3 pipeline stages"), std::string::npos) << runner.status().message();
}

}  // namespace
}  // namespace tessera
