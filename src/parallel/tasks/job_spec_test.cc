// Job file lines: what is a job, what is refused, and how paths resolve.
#include "parallel/tasks/job_spec.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "testing/onnx_builder.h"

namespace tessera {
namespace {

TEST(JobSpecTest, RelativePathsResolveAgainstTheJobFileFolder) {
  auto job = ParseJobLine(R"({"model": "m/model.onnx", "inputs": {"x": "in/x.npy"}, "output_dir": "out/1"})", 3, "/data/jobs");
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(job->line, 3);
  EXPECT_EQ(job->model, "/data/jobs/m/model.onnx");
  ASSERT_EQ(job->inputs.size(), 1u);
  EXPECT_EQ(job->inputs[0].first, "x");
  EXPECT_EQ(job->inputs[0].second, "/data/jobs/in/x.npy");
  EXPECT_EQ(job->output_dir, "/data/jobs/out/1");
}

TEST(JobSpecTest, AbsolutePathsAreKept) {
  auto job = ParseJobLine(R"({"model": "/m.onnx", "inputs": {}, "output_dir": "/o"})", 1, "/data");
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(job->model, "/m.onnx");
  EXPECT_TRUE(job->inputs.empty());
  EXPECT_EQ(job->output_dir, "/o");
}

TEST(JobSpecTest, InputsKeepTheOrderWritten) {
  auto job = ParseJobLine(R"({"model": "m", "inputs": {"zeta": "z.npy", "alpha": "a.npy"}, "output_dir": "o"})", 1, "");
  ASSERT_TRUE(job.ok()) << job.status().message();
  ASSERT_EQ(job->inputs.size(), 2u);
  EXPECT_EQ(job->inputs[0].first, "zeta");
  EXPECT_EQ(job->inputs[1].first, "alpha");
}

TEST(JobSpecTest, MalformedLinesSayWhatIsWrong) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"not json", "not valid JSON"},
      {"[1, 2]", "must be a JSON object"},
      {R"({"inputs": {}, "output_dir": "o"})", "missing \"model\""},
      {R"({"model": 3, "inputs": {}, "output_dir": "o"})", "\"model\" must be a string"},
      {R"({"model": "", "inputs": {}, "output_dir": "o"})", "\"model\" is empty"},
      {R"({"model": "m", "output_dir": "o"})", "missing \"inputs\""},
      {R"({"model": "m", "inputs": ["a.npy"], "output_dir": "o"})", "\"inputs\" must be an object"},
      {R"({"model": "m", "inputs": {"x": 1}, "output_dir": "o"})", "input \"x\" must name an .npy file"},
      {R"({"model": "m", "inputs": {}})", "missing \"output_dir\""},
      {R"({"model": "m", "inputs": {}, "output_dir": "o", "ouput": 1})", "unknown key \"ouput\""},
      {R"({"model": "m", "inputs": {}, "output_dir": "o", "line": 4})", "unknown key \"line\""},
  };
  for (const Case& c : cases) {
    auto job = ParseJobLine(c.text, 7, "");
    ASSERT_FALSE(job.ok()) << c.text;
    EXPECT_NE(job.status().message().find(c.message), std::string::npos) << c.text << " -> " << job.status().message();
  }
}

TEST(JobSpecTest, WireFormRoundTrips) {
  Job job{12, "/m.onnx", {{"b", "/b.npy"}, {"a", "/a.npy"}}, "/out"};
  auto back = JobFromJson(JobToJson(job));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->line, 12);
  EXPECT_EQ(back->model, job.model);
  EXPECT_EQ(back->inputs, job.inputs);
  EXPECT_EQ(back->output_dir, job.output_dir);
  EXPECT_FALSE(JobFromJson(R"({"model": "m", "inputs": {}, "output_dir": "o"})").ok());  // no line
  EXPECT_FALSE(JobFromJson("{").ok());
}

TEST(JobSpecTest, FileKeepsLineNumbersAndSkipsBlankLines) {
  std::string dir = testing::OnnxBuilder::MakeTempDir();
  std::string path = dir + "/jobs.jsonl";
  std::ofstream(path) << R"({"model": "a.onnx", "inputs": {}, "output_dir": "o1"})" << "\n\n   \n"
                      << "garbage\n"
                      << R"({"model": "b.onnx", "inputs": {}, "output_dir": "o2"})";  // no final newline
  auto lines = ReadJobFile(path);
  ASSERT_TRUE(lines.ok()) << lines.status().message();
  ASSERT_EQ(lines->size(), 3u);
  EXPECT_EQ((*lines)[0].line, 1);
  EXPECT_TRUE((*lines)[0].job.ok());
  EXPECT_EQ((*lines)[0].job->model, dir + "/a.onnx");
  EXPECT_EQ((*lines)[1].line, 4);
  EXPECT_FALSE((*lines)[1].job.ok());
  EXPECT_EQ((*lines)[2].line, 5);
  EXPECT_TRUE((*lines)[2].job.ok());
  std::remove(path.c_str());
}

TEST(JobSpecTest, MissingFileIsAnError) {
  auto lines = ReadJobFile("/nonexistent/jobs.jsonl");
  ASSERT_FALSE(lines.ok());
  EXPECT_NE(lines.status().message().find("/nonexistent/jobs.jsonl"), std::string::npos);
}

}  // namespace
}  // namespace tessera
