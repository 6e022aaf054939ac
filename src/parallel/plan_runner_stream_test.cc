// Streaming a batch through a plan (PlanRunner::Run with rounds > 1), ranks as threads: the last round's
// outputs equal a single run's and the unsplit model's, for pipelines (outputs delivered by both stages,
// uneven micro-batches), data groups of pipelines, and plans of one stage; a bad round count is an error.
#include <gtest/gtest.h>

#include <mutex>
#include <random>

#include "parallel/comm/local_communicator.h"
#include "parallel/comm/thread_communicator.h"
#include "parallel/plan_runner.h"
#include "testing/onnx_builder.h"

namespace tessera {
namespace {

using testing::OnnxBuilder;

// x [batch, 8] -> MatMul (output "m1", delivered by the first stage of a 2-stage plan) -> Relu -> MatMul
// -> Tanh -> y [batch, 4].
std::string TwoLayerModel() {
  OnnxBuilder b;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  auto weight = [&](const std::string& name, int64_t rows, int64_t cols) {
    std::vector<float> w(static_cast<size_t>(rows * cols));
    for (float& v : w) v = dist(rng);
    b.Initializer(name, w, {rows, cols});
  };
  b.Input("x", DType::kFloat32, {-1, 8});
  weight("w1", 8, 6);
  weight("w2", 6, 4);
  b.Node("MatMul", {"x", "w1"}, {"m1"}, "mm1");
  b.Node("Relu", {"m1"}, {"h"}, "relu");
  b.Node("MatMul", {"h", "w2"}, {"m2"}, "mm2");
  b.Node("Tanh", {"m2"}, {"y"}, "tanh");
  b.Output("m1", DType::kFloat32, {-1, 6});
  b.Output("y", DType::kFloat32, {-1, 4});
  return b.WriteTemp();
}

Tensor Rows(int64_t rows, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  std::vector<float> xs(static_cast<size_t>(rows * 8));
  for (float& v : xs) v = dist(rng);
  return Tensor::FromVector<float>(DType::kFloat32, {rows, 8}, xs);
}

struct PlanRuns {
  std::vector<std::vector<Tensor>> outputs;  // rank 0's outputs of each run, in order
  std::vector<int> output_stages;            // the stage that delivers each model output
};

// Builds one runner per rank under `spec` (ranks as threads) and runs Run(x, rounds) for each of `runs`
// in turn on the same runners.
StatusOr<PlanRuns> RunPlan(const std::string& path, PlanSpec spec, int ranks,
                           const std::vector<std::pair<Tensor, int>>& runs) {
  PlanRuns result;
  std::mutex mutex;
  std::vector<Status> statuses = RunOnThreads(ranks, [&](Communicator& world) -> Status {
    PlanRunnerOptions options;
    options.spec = spec;
    TS_RETURN_IF_ERROR(ResolvePlan(options.spec, world.size()));
    options.session.threads = 1;
    bool report = false;
    TS_ASSIGN_OR_RETURN(auto runner, PlanRunner::Create(world, path, options, report));
    for (const auto& [x, rounds] : runs) {
      TS_ASSIGN_OR_RETURN(std::vector<Tensor> out, runner->Run({x}, rounds));
      if (world.rank() == 0) result.outputs.push_back(std::move(out));
    }
    if (world.rank() == 0) {
      std::lock_guard<std::mutex> lock(mutex);
      result.output_stages = runner->partition().graph_output_stage;
    }
    return Status::Ok();
  });
  for (const Status& s : statuses) TS_RETURN_IF_ERROR(s);
  return result;
}

StatusOr<std::vector<Tensor>> RunPlan(const std::string& path, PlanSpec spec, int ranks, const Tensor& x,
                                      int rounds) {
  TS_ASSIGN_OR_RETURN(PlanRuns runs, RunPlan(path, spec, ranks, {{x, rounds}}));
  return runs.outputs.at(0);
}

// The whole model in one session: the reference.
std::vector<Tensor> Unsplit(const std::string& path, const Tensor& x) {
  auto out = RunPlan(path, PlanSpec{}, 1, x, 1);
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? *out : std::vector<Tensor>{};
}

// Exact (tolerance 0) where both runs cut the same micro-batches; else within `tolerance`, since a
// kernel may block a whole batch differently from its parts.
void ExpectSame(const std::vector<Tensor>& want, const StatusOr<std::vector<Tensor>>& got,
                const std::string& what, float tolerance = 1e-5f) {
  ASSERT_TRUE(got.ok()) << what << ": " << got.status().message();
  ASSERT_EQ(got->size(), want.size()) << what;
  for (size_t o = 0; o < want.size(); ++o) {
    ASSERT_EQ((*got)[o].shape(), want[o].shape()) << what << ", output " << o;
    for (int64_t i = 0; i < want[o].element_count(); ++i) {
      ASSERT_NEAR((*got)[o].data<float>()[i], want[o].data<float>()[i], tolerance)
          << what << ", output " << o << ", element " << i;
    }
  }
}

TEST(PlanRunnerStreamTest, TwoStagesThreeRoundsMatchOneRoundAndTheUnsplitModel) {
  const std::string path = TwoLayerModel();
  const Tensor x = Rows(5, 3);  // 5 rows in 2 micro-batches: 3 and 2
  const Tensor next = Rows(4, 9);
  const std::vector<Tensor> want = Unsplit(path, x);
  PlanSpec spec;
  spec.pp = 2;
  spec.micro_batches = 2;
  // Then another batch on the same runners: a stream must leave no message behind for the next run.
  auto runs = RunPlan(path, spec, 2, {{x, 1}, {x, 3}, {next, 1}});
  ASSERT_TRUE(runs.ok()) << runs.status().message();
  EXPECT_EQ(runs->output_stages, (std::vector<int>{0, 1})) << "each stage should deliver one output";
  ExpectSame(want, runs->outputs[0], "pp 2, 1 round");
  ExpectSame(runs->outputs[0], runs->outputs[1], "pp 2, 3 rounds against 1 round", 0.0f);
  ExpectSame(want, runs->outputs[1], "pp 2, 3 rounds");
  ExpectSame(Unsplit(path, next), runs->outputs[2], "pp 2, the batch after a stream");
}

TEST(PlanRunnerStreamTest, DataGroupsOfPipelinesStreamTheirSlices) {
  const std::string path = TwoLayerModel();
  const Tensor x = Rows(7, 4);  // groups of 4 and 3 rows, each in 2 micro-batches
  PlanSpec spec;
  spec.dp = 2;
  spec.pp = 2;
  spec.micro_batches = 2;
  ExpectSame(Unsplit(path, x), RunPlan(path, spec, 4, x, 4), "dp 2 x pp 2, 4 rounds");
}

TEST(PlanRunnerStreamTest, OneStageRunsTheRoundsOneAfterAnother) {
  const std::string path = TwoLayerModel();
  const Tensor x = Rows(3, 5);
  PlanSpec spec;
  spec.micro_batches = 2;
  ExpectSame(Unsplit(path, x), RunPlan(path, spec, 1, x, 3), "pp 1, 3 rounds");
}

TEST(PlanRunnerStreamTest, FewerThanOneRoundIsAnErrorNotAHang) {
  const std::string path = TwoLayerModel();
  PlanSpec spec;
  spec.pp = 2;
  auto out = RunPlan(path, spec, 2, Rows(2, 6), 0);  // rank 0's status comes first
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("rounds must be at least 1"), std::string::npos) << out.status().message();
}

}  // namespace
}  // namespace tessera
