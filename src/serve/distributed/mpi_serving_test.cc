// MpiServing on a world of one process: the checks that need no second rank.
#include "serve/distributed/mpi_serving.h"

#include <gtest/gtest.h>

#include "parallel/comm/local_communicator.h"
#include "serve/serve_test_repository.h"

namespace tessera::serve {
namespace {

using testing::AffineModel;
using testing::TestRepository;

ServingPlan DataParallel(int dp) {
  ServingPlan plan;
  plan.parallel.dp = dp;
  return plan;
}

TEST(MpiServingTest, WorldTooSmallForThePlansNamesTheRanksNeeded) {
  TestRepository repo;
  repo.AddModel("a", "1", AffineModel());
  repo.WriteConfig("a", R"({"parallel": {"dp": 2}})");
  repo.AddModel("b", "1", AffineModel());
  repo.WriteConfig("b", R"({"parallel": {"pp": 1, "tp": 3}})");
  LocalCommunicator world;
  ServerOptions options;
  options.model_repo = repo.root();
  bool report = false;
  auto serving = MpiServing::Start(world, options, report);
  ASSERT_FALSE(serving.ok());
  EXPECT_TRUE(report);
  EXPECT_EQ(serving.status().code(), StatusCode::kInvalidArgument);
  // Rank 0 plus one more for a, two more for b.
  EXPECT_NE(serving.status().message().find("need 4 MPI ranks but mpirun started 1"), std::string::npos)
      << serving.status().ToString();
  EXPECT_NE(serving.status().message().find("model 'b' version 1 dp=1 pp=1 tp=3 takes 3"), std::string::npos)
      << serving.status().ToString();
}

TEST(MpiServingTest, ModelsWithoutPlanOrWithBrokenConfigGetNoGroup) {
  TestRepository repo;
  repo.AddModel("plain", "1", AffineModel());
  repo.AddModel("broken", "1", AffineModel());
  repo.WriteConfig("broken", R"({"parallel": {"dp": "two"}})");  // the server reports it when loading
  LocalCommunicator world;
  ServerOptions options;
  options.model_repo = repo.root();
  bool report = false;
  auto serving = MpiServing::Start(world, options, report);
  ASSERT_TRUE(serving.ok()) << serving.status().ToString();
  EXPECT_EQ((*serving)->Describe(), "");
  // Serving, but no group was formed for this path.
  auto runner = CreateDistributedRunner(repo.root() + "/plain/1/model.onnx", DataParallel(2), "plain");
  ASSERT_FALSE(runner.ok());
  EXPECT_EQ(runner.status().code(), StatusCode::kNotFound);
  EXPECT_NE(runner.status().message().find("no group of ranks was formed"), std::string::npos);
}

TEST(MpiServingTest, WithoutMpirunAParallelPlanIsUnimplemented) {
  auto runner = CreateDistributedRunner("/nowhere/model.onnx", DataParallel(2), "a");
  ASSERT_FALSE(runner.ok());
  EXPECT_EQ(runner.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(runner.status().message().find("model 'a': config.json asks for parallel dp=2 pp=1 tp=1"),
            std::string::npos)
      << runner.status().ToString();
  EXPECT_NE(runner.status().message().find("mpirun"), std::string::npos);
}

}  // namespace
}  // namespace tessera::serve
