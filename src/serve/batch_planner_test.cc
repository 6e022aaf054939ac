#include "serve/batch_planner.h"

#include <gtest/gtest.h>

namespace tessera::serve {
namespace {

using std::chrono::microseconds;

class BatchPlannerTest : public ::testing::Test {
 protected:
  void Add(int64_t rows, const std::string& key = "k", microseconds age = microseconds(0)) {
    auto p = std::make_shared<PendingInference>();
    p->request.rows = rows;
    p->request.merge_key = key;
    p->arrival = now_ - age;
    queue_.push_back(p);
  }
  BatchDecision Plan(bool flush = false) { return PlanBatch(queue_, policy_, now_, flush); }

  Clock::time_point now_ = Clock::now();
  std::deque<std::shared_ptr<PendingInference>> queue_;
  BatchingPolicy policy_{true, 8, {}, microseconds(1000)};
};

TEST_F(BatchPlannerTest, WithoutDynamicBatchingTheOldestRunsAlone) {
  policy_.dynamic = false;
  Add(1);
  Add(1);
  EXPECT_EQ(Plan().take, std::vector<size_t>{0});
}

TEST_F(BatchPlannerTest, WaitsForMoreUntilTheDelayPasses) {
  Add(1, "k", microseconds(300));
  Add(2);
  BatchDecision d = Plan();
  EXPECT_TRUE(d.take.empty());
  EXPECT_EQ(d.wait_until, queue_.front()->arrival + microseconds(1000));
  now_ += microseconds(700);
  EXPECT_EQ(Plan().take, (std::vector<size_t>{0, 1}));
}

TEST_F(BatchPlannerTest, FullBatchRunsAtOnce) {
  Add(3);
  Add(5);
  Add(1);
  EXPECT_EQ(Plan().take, (std::vector<size_t>{0, 1}));
}

TEST_F(BatchPlannerTest, ANextRequestThatDoesNotFitClosesTheBatch) {
  Add(3);
  Add(6);
  EXPECT_EQ(Plan().take, std::vector<size_t>{0});
}

TEST_F(BatchPlannerTest, OnlyRequestsWithTheOldestsKeyJoin) {
  Add(1, "a");
  Add(4, "b");
  Add(7, "a");
  Add(1, "b");
  EXPECT_EQ(Plan().take, (std::vector<size_t>{0, 2}));
}

TEST_F(BatchPlannerTest, LargestReachablePreferredSizeRunsAtOnce) {
  policy_.preferred_sizes = {2, 4};
  Add(1);
  Add(1);
  Add(1);
  EXPECT_EQ(Plan().take, (std::vector<size_t>{0, 1}));
  Add(1);
  EXPECT_EQ(Plan().take, (std::vector<size_t>{0, 1, 2, 3}));
}

TEST_F(BatchPlannerTest, UnmergeableRequestRunsAlone) {
  Add(1, "");
  Add(1, "");
  EXPECT_EQ(Plan().take, std::vector<size_t>{0});
}

TEST_F(BatchPlannerTest, FlushTakesWhatIsThere) {
  Add(1);
  Add(1, "other");
  Add(2);
  EXPECT_EQ(Plan(true).take, (std::vector<size_t>{0, 2}));
}

TEST_F(BatchPlannerTest, ZeroDelayNeverWaits) {
  policy_.max_queue_delay = microseconds(0);
  Add(1);
  EXPECT_EQ(Plan().take, std::vector<size_t>{0});
}

}  // namespace
}  // namespace tessera::serve
