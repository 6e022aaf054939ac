// Jobs in a world of one: every job runs in file order, a failure is reported and the rest go on, and
// a model shared by several jobs loads once.
#include "parallel/tasks/job_scheduler.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/npy.h"
#include "parallel/comm/local_communicator.h"
#include "testing/onnx_builder.h"

namespace tessera {
namespace {

using testing::OnnxBuilder;

std::string ReluModel() {
  OnnxBuilder b;
  b.Input("x", DType::kFloat32, {2, 3});
  b.Node("Relu", {"x"}, {"y"});
  b.Output("y", DType::kFloat32, {2, 3});
  return b.WriteTemp();
}

TEST(JobSchedulerTest, WorldOfOneRunsEveryJobInOrderAndGoesOnAfterAFailure) {
  const std::string model = ReluModel();
  const std::string dir = std::filesystem::path(model).parent_path().string();
  std::vector<float> values = {-1.5f, 2.f, -0.25f, 4.f, 0.f, -3.f};
  ASSERT_TRUE(WriteNpy(dir + "/x.npy", Tensor::FromVector(DType::kFloat32, {2, 3}, values)).ok());

  std::vector<JobLine> lines;
  lines.push_back({1, Job{1, model, {{"x", dir + "/x.npy"}}, dir + "/out1"}});
  lines.push_back({2, Job{2, dir + "/missing.onnx", {}, dir + "/out2"}});
  lines.push_back({3, StatusOr<Job>(InvalidArgument("not valid JSON"))});
  lines.push_back({5, Job{5, model, {{"x", dir + "/x.npy"}}, dir + "/out5"}});

  LocalCommunicator comm;
  JobRunner runner(SessionOptions{1});
  std::vector<JobResult> seen;
  auto summary = RunJobs(comm, lines, runner, [&](const JobResult& r) { seen.push_back(r); });
  ASSERT_TRUE(summary.ok()) << summary.status().message();
  EXPECT_EQ(summary->ok, 2);
  EXPECT_EQ(summary->failed, 2);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].line, 1);
  EXPECT_TRUE(seen[0].ok);
  EXPECT_EQ(seen[1].line, 2);
  EXPECT_FALSE(seen[1].ok);
  EXPECT_NE(seen[1].error.find("missing.onnx"), std::string::npos) << seen[1].error;
  EXPECT_EQ(seen[2].rank, -1);  // never ran
  EXPECT_EQ(seen[3].line, 5);
  EXPECT_TRUE(seen[3].ok);
  EXPECT_EQ(runner.sessions_loaded(), 1u);

  auto out = ReadNpy(dir + "/out5/y.npy");
  ASSERT_TRUE(out.ok()) << out.status().message();
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(out->data<float>()[i], std::max(values[i], 0.f));
  EXPECT_FALSE(std::filesystem::exists(dir + "/out2"));
}

TEST(JobSchedulerTest, WrongInputNameNamesTheModelsInputs) {
  const std::string model = ReluModel();
  const std::string dir = std::filesystem::path(model).parent_path().string();
  ASSERT_TRUE(WriteNpy(dir + "/x.npy", Tensor::FromVector(DType::kFloat32, {2, 3}, std::vector<float>(6, 1.f))).ok());
  JobRunner runner(SessionOptions{1});
  Status s = runner.Run(Job{1, model, {{"image", dir + "/x.npy"}}, dir + "/out"});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no input 'image' (inputs: x)"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace tessera
