#include "parallel/plan_spec.h"

#include <gtest/gtest.h>

namespace tessera {
namespace {

TEST(PlanSpecTest, DataParallelDefaultsToWhatPipelineAndTensorLeave) {
  PlanSpec spec;
  spec.pp = 2;
  ASSERT_TRUE(ResolvePlan(spec, 8).ok());
  EXPECT_EQ(spec.dp, 4);
}

TEST(PlanSpecTest, GridThatDoesNotMatchTheWorldIsRefusedWithTheFittingCount) {
  PlanSpec spec;
  spec.dp = 2;
  spec.tp = 2;
  Status s = ResolvePlan(spec, 3);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("mpirun -np 4"), std::string::npos) << s.message();
  PlanSpec odd;
  odd.pp = 2;
  EXPECT_FALSE(ResolvePlan(odd, 3).ok());
}

TEST(PlanSpecTest, TensorIsInnermostThenPipelineThenData) {
  PlanSpec spec;
  spec.dp = 2;
  spec.pp = 2;
  spec.tp = 2;
  GridPosition p = PositionOf(spec, 6);  // 6 = (1 * 2 + 1) * 2 + 0
  EXPECT_EQ(p.data, 1);
  EXPECT_EQ(p.stage, 1);
  EXPECT_EQ(p.shard, 0);
}

}  // namespace
}  // namespace tessera
