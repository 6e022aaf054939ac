// Plan estimates on a two-layer MLP whose costs are known by hand: tensor parallelism halves each
// shard's FLOPs and weights and adds one all-reduce; a pipeline cut moves the hidden activation; --auto
// picks tp for latency and dp for throughput; the Graphviz file draws every node once.
#include "parallel/planner/plan_estimate.h"

#include <gtest/gtest.h>

#include <regex>

#include "model/onnx_loader.h"
#include "parallel/planner/auto_plan.h"
#include "parallel/planner/plan_dot.h"
#include "testing/onnx_builder.h"

namespace tessera {
namespace {

using testing::OnnxBuilder;

constexpr int64_t kBatch = 4, kIn = 64, kHidden = 256;

// x [batch,64] -> MatMul [64,256] -> Relu -> MatMul [256,64] -> y [batch,64]: the MLP block tp splits
// whole.
Model Mlp(int64_t batch = kBatch) {
  OnnxBuilder b;
  b.Input("x", DType::kFloat32, {batch, kIn});
  b.Initializer("w1", std::vector<float>(kIn * kHidden, 0.5f), {kIn, kHidden});
  b.Initializer("w2", std::vector<float>(kHidden * kIn, 0.5f), {kHidden, kIn});
  b.Node("MatMul", {"x", "w1"}, {"h"}, "up");
  b.Node("Relu", {"h"}, {"r"}, "relu");
  b.Node("MatMul", {"r", "w2"}, {"y"}, "down");
  b.Output("y", DType::kFloat32, {batch, kIn});
  auto model = LoadModelFromBytes(b.Serialize(), "", "mlp.onnx");
  EXPECT_TRUE(model.ok()) << model.status().message();
  return std::move(model).value();
}

constexpr double kMatMulFlops = 2.0 * kBatch * kIn * kHidden;  // each of the two
constexpr double kWeightBytes = 2.0 * kIn * kHidden * 4;

TEST(PlanEstimateTest, TensorParallelHalvesShardsAndAddsOneAllReduce) {
  Model m = Mlp();
  PlanCostModel cost;
  auto one = EstimatePlan(*m.graph, {1, 1, 1, 1}, cost);
  auto two = EstimatePlan(*m.graph, {1, 1, 2, 1}, cost);
  ASSERT_TRUE(one.ok()) << one.status().message();
  ASSERT_TRUE(two.ok()) << two.status().message();
  ASSERT_EQ(two->stages.size(), 1u);
  const StageEstimate& stage = two->stages[0];
  ASSERT_EQ(stage.shards.size(), 2u);
  EXPECT_EQ(stage.sharded_blocks, 1);
  for (const ShardEstimate& shard : stage.shards) {
    EXPECT_NEAR(shard.flops, one->stages[0].shards[0].flops / 2, 1.0);
    EXPECT_GE(shard.unsplit_flops, 2 * kMatMulFlops);
    EXPECT_NEAR(shard.weight_bytes, kWeightBytes / 2, 1.0);
  }
  EXPECT_DOUBLE_EQ(stage.collective_bytes, kBatch * kIn * 4.0);  // the all-reduce of y
  EXPECT_DOUBLE_EQ(two->tensor_bytes, 2.0 * (2 - 1) * kBatch * kIn * 4);
  EXPECT_EQ(two->pipeline_bytes, 0);
  EXPECT_TRUE(two->node_sharded[0] && two->node_sharded[1] && two->node_sharded[2]);
  EXPECT_LT(two->max_rank_memory_bytes, one->max_rank_memory_bytes);
}

TEST(PlanEstimateTest, PipelineCutMovesTheActivationBetweenStages) {
  Model m = Mlp();
  auto est = EstimatePlan(*m.graph, {1, 2, 1, 1}, PlanCostModel{});
  ASSERT_TRUE(est.ok()) << est.status().message();
  ASSERT_EQ(est->stages.size(), 2u);
  EXPECT_GT(est->stages[0].send_bytes, 0);
  EXPECT_EQ(est->stages[1].send_bytes, 0);
  EXPECT_DOUBLE_EQ(est->pipeline_bytes, est->stages[0].send_bytes);
  EXPECT_EQ(est->node_stage.front(), 0);
  EXPECT_EQ(est->node_stage.back(), 1);
  std::string report = DescribePlanEstimate(*est, PlanCostModel{});
  EXPECT_NE(report.find("cut 0 -> 1"), std::string::npos) << report;
  EXPECT_NE(report.find("stage 1: nodes"), std::string::npos) << report;
}

TEST(PlanEstimateTest, DataParallelSplitsTheBatchForLatencyAndMultipliesThroughput) {
  Model m = Mlp();
  auto one = EstimatePlan(*m.graph, {1, 1, 1, 1}, PlanCostModel{});
  auto dp = EstimatePlan(*m.graph, {4, 1, 1, 1}, PlanCostModel{});
  ASSERT_TRUE(one.ok() && dp.ok());
  EXPECT_DOUBLE_EQ(dp->batch, kBatch);
  EXPECT_NEAR(dp->throughput_per_second, 4 * one->throughput_per_second, 1e-6 * dp->throughput_per_second);
  EXPECT_GT(dp->data_bytes, 0);
}

TEST(PlanEstimateTest, ImpossiblePlansSayWhy) {
  Model m = Mlp();
  auto stages = EstimatePlan(*m.graph, {1, 50, 1, 1}, PlanCostModel{});
  ASSERT_FALSE(stages.ok());
  EXPECT_NE(stages.status().message().find("pipeline of 50 stages"), std::string::npos) << stages.status().message();
  EXPECT_FALSE(EstimatePlan(*m.graph, {0, 1, 1, 1}, PlanCostModel{}).ok());
}

TEST(AutoPlanTest, LatencyPrefersTensorParallelAndThroughputPrefersReplicas) {
  Model m = Mlp(/*batch=*/1);  // one sample: dp cannot shorten it
  PlanCostModel fast_link;
  fast_link.flops_per_second = 1e9;  // compute-bound, so splitting the work pays
  fast_link.link_bytes_per_second = 100e9;
  fast_link.link_latency_seconds = 1e-7;
  auto latency = ChoosePlan(*m.graph, 2, 1, PlanObjective::kLatency, fast_link, 0);
  ASSERT_TRUE(latency.ok()) << latency.status().message();
  EXPECT_EQ(latency->candidates[latency->chosen].spec.tp, 2) << DescribeAutoPlan(*latency);
  // With any real link cost, two replicas beat one tp pair that must all-reduce.
  PlanCostModel real_link;
  real_link.flops_per_second = 1e9;
  auto throughput = ChoosePlan(*m.graph, 2, 1, PlanObjective::kThroughput, real_link, 0);
  ASSERT_TRUE(throughput.ok()) << throughput.status().message();
  EXPECT_EQ(throughput->candidates[throughput->chosen].spec.dp, 2) << DescribeAutoPlan(*throughput);
  EXPECT_NE(DescribeAutoPlan(*throughput).find("objective throughput"), std::string::npos);
}

TEST(AutoPlanTest, MemoryLimitRulesOutReplicas) {
  Model m = Mlp();
  auto tight = ChoosePlan(*m.graph, 2, 1, PlanObjective::kThroughput, PlanCostModel{}, kWeightBytes * 0.75);
  ASSERT_TRUE(tight.ok()) << tight.status().message();
  EXPECT_EQ(tight->candidates[tight->chosen].spec.dp, 1) << DescribeAutoPlan(*tight);
  auto impossible = ChoosePlan(*m.graph, 2, 1, PlanObjective::kLatency, PlanCostModel{}, 16);
  ASSERT_FALSE(impossible.ok());
  EXPECT_NE(impossible.status().message().find("no plan over 2 ranks fits"), std::string::npos);
}

TEST(PlanDotTest, DrawsEveryNodeOnceInItsStageCluster) {
  Model m = Mlp();
  auto est = EstimatePlan(*m.graph, {1, 2, 1, 1}, PlanCostModel{});
  ASSERT_TRUE(est.ok());
  std::string dot = PlanToDot(*m.graph, *est);
  EXPECT_EQ(dot.rfind("digraph plan {", 0), 0u);
  std::regex node_line(R"(\n\s+n(\d+) \[label=)");
  EXPECT_EQ(std::distance(std::sregex_iterator(dot.begin(), dot.end(), node_line), std::sregex_iterator()), 3);
  EXPECT_NE(dot.find("cluster_stage1"), std::string::npos);
  EXPECT_NE(dot.find("n0 -> n1;"), std::string::npos);
  EXPECT_NE(dot.find("n1 -> n2;"), std::string::npos);
}

}  // namespace
}  // namespace tessera
