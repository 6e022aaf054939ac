// ModelQueue with fake runners: what each run received, without loading a model.
#include "serve/model_queue.h"

#include <gtest/gtest.h>

#include <future>

namespace tessera::serve {
namespace {

// Returns its single input plus 1 as output "y"; records the rows of every run.
class RecordingRunner : public ModelRunner {
 public:
  RecordingRunner(std::mutex& mu, std::vector<int64_t>& runs) : mu_(mu), runs_(runs) {
    TensorInfo x;
    x.name = "x";
    x.dtype = DType::kFloat32;
    x.has_shape = true;
    x.dims = {-1, 2};
    inputs_ = {x};
    x.name = "y";
    outputs_ = {x};
  }
  const std::vector<TensorInfo>& inputs() const override { return inputs_; }
  const std::vector<TensorInfo>& outputs() const override { return outputs_; }
  StatusOr<std::vector<Tensor>> Run(const Feeds& feeds) override {
    const Tensor& x = feeds.at(0).second;
    {
      std::lock_guard<std::mutex> lock(mu_);
      runs_.push_back(x.dim(0));
    }
    TS_ASSIGN_OR_RETURN(Tensor y, Tensor::Allocate(DType::kFloat32, x.shape()));
    for (int64_t i = 0; i < x.element_count(); ++i) {
      if (x.data<float>()[i] < 0) return InvalidArgument("negative input");
      y.data<float>()[i] = x.data<float>()[i] + 1;
    }
    return std::vector<Tensor>{y};
  }

 private:
  std::mutex& mu_;
  std::vector<int64_t>& runs_;
  std::vector<TensorInfo> inputs_, outputs_;
};

class ModelQueueTest : public ::testing::Test {
 protected:
  std::unique_ptr<ModelQueue> Start(BatchingPolicy policy, int instances) {
    std::vector<std::unique_ptr<ModelRunner>> runners;
    std::vector<std::atomic<double>*> busy;
    for (int i = 0; i < instances; ++i) {
      runners.push_back(std::make_unique<RecordingRunner>(mu_, runs_));
      busy.push_back(metrics_.InstanceBusy(model_metrics_, static_cast<size_t>(i)));
    }
    return std::make_unique<ModelQueue>("model 'fake' version 1", std::move(policy), std::move(runners), model_metrics_,
                                        std::move(busy));
  }

  std::shared_ptr<PendingInference> Pending(int64_t rows, float value) {
    auto p = std::make_shared<PendingInference>();
    p->request.feeds.emplace_back(
        "x", Tensor::FromVector(DType::kFloat32, {rows, 2}, std::vector<float>(static_cast<size_t>(rows * 2), value)));
    p->request.rows = rows;
    p->request.merge_key = "f32:2";
    p->request.output_indices = {0};
    p->arrival = Clock::now();
    return p;
  }

  std::mutex mu_;
  std::vector<int64_t> runs_;
  ServerMetrics metrics_;
  std::shared_ptr<ModelMetrics> model_metrics_ = metrics_.ForModel("fake", "1");
};

TEST_F(ModelQueueTest, StopFlushesQueuedRequestsAsOneBatch) {
  auto queue = Start({true, 16, {}, std::chrono::microseconds(30'000'000)}, 1);
  std::vector<std::shared_ptr<PendingInference>> pending;
  std::vector<std::future<StatusOr<std::vector<Tensor>>>> results;
  for (int i = 0; i < 5; ++i) {
    pending.push_back(Pending(i + 1, static_cast<float>(i)));
    results.push_back(pending.back()->result.get_future());
    ASSERT_TRUE(queue->Enqueue(pending.back()).ok());
  }
  queue->Stop();  // the 30 s wait is cut short: everything queued runs now
  for (int i = 0; i < 5; ++i) {
    auto r = results[static_cast<size_t>(i)].get();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ((*r)[0].shape(), (Shape{i + 1, 2}));
    EXPECT_EQ((*r)[0].data<float>()[0], static_cast<float>(i) + 1);
  }
  EXPECT_EQ(runs_, std::vector<int64_t>{15});
  EXPECT_EQ(queue->Enqueue(Pending(1, 0)).code(), StatusCode::kUnavailable);
}

TEST_F(ModelQueueTest, WithoutDynamicBatchingEveryRequestRunsAlone) {
  auto queue = Start({}, 2);
  std::vector<std::future<StatusOr<std::vector<Tensor>>>> results;
  for (int i = 0; i < 6; ++i) {
    auto p = Pending(2, 1);
    results.push_back(p->result.get_future());
    ASSERT_TRUE(queue->Enqueue(p).ok());
  }
  for (auto& r : results) EXPECT_TRUE(r.get().ok());
  queue->Stop();
  EXPECT_EQ(runs_, std::vector<int64_t>(6, 2));
  EXPECT_EQ(model_metrics_->batch_size.count(), 6u);
}

TEST_F(ModelQueueTest, FailedMergedRunIsRetriedRequestByRequest) {
  auto queue = Start({true, 16, {}, std::chrono::microseconds(30'000'000)}, 1);
  auto good = Pending(1, 1), bad = Pending(1, -1), good2 = Pending(2, 3);
  auto f1 = good->result.get_future(), f2 = bad->result.get_future(), f3 = good2->result.get_future();
  for (auto& p : {good, bad, good2}) ASSERT_TRUE(queue->Enqueue(p).ok());
  queue->Stop();
  EXPECT_TRUE(f1.get().ok());
  EXPECT_EQ(f2.get().status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(f3.get().ok());
  EXPECT_EQ(runs_, (std::vector<int64_t>{4, 1, 1, 2}));
}

TEST_F(ModelQueueTest, AbandonedAndExpiredRequestsAreNotRun) {
  auto queue = Start({true, 16, {}, std::chrono::microseconds(30'000'000)}, 1);
  auto abandoned = Pending(1, 1), expired = Pending(1, 1), live = Pending(1, 1);
  abandoned->abandoned = true;
  expired->deadline = Clock::now() - std::chrono::seconds(1);
  auto fa = abandoned->result.get_future(), fe = expired->result.get_future(), fl = live->result.get_future();
  for (auto& p : {abandoned, expired, live}) ASSERT_TRUE(queue->Enqueue(p).ok());
  queue->Stop();
  EXPECT_EQ(fa.get().status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(fe.get().status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(fl.get().ok());
  EXPECT_EQ(runs_, std::vector<int64_t>{1});
}

TEST_F(ModelQueueTest, FullQueueRefusesRequests) {
  BatchingPolicy policy{true, 16, {}, std::chrono::microseconds(30'000'000)};
  policy.max_queue_size = 2;
  auto queue = Start(policy, 1);
  auto a = Pending(1, 1), b = Pending(1, 1);
  auto fa = a->result.get_future(), fb = b->result.get_future();
  ASSERT_TRUE(queue->Enqueue(a).ok());
  ASSERT_TRUE(queue->Enqueue(b).ok());
  Status full = queue->Enqueue(Pending(1, 1));
  EXPECT_EQ(full.code(), StatusCode::kUnavailable);
  EXPECT_NE(full.message().find("max_queue_size 2"), std::string::npos) << full.message();
  queue->Stop();
  EXPECT_TRUE(fa.get().ok());
  EXPECT_TRUE(fb.get().ok());
}

}  // namespace
}  // namespace tessera::serve
