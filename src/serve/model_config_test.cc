#include "serve/model_config.h"

#include <gtest/gtest.h>

namespace tessera::serve {
namespace {

std::string ErrorOf(const std::string& json) {
  auto c = ParseModelConfig(json, "resnet");
  EXPECT_FALSE(c.ok()) << json;
  return c.ok() ? "" : c.status().message();
}

TensorInfo Info(const std::string& name, std::vector<int64_t> dims) {
  TensorInfo t;
  t.name = name;
  t.dtype = DType::kFloat32;
  t.has_shape = true;
  t.dims = std::move(dims);
  return t;
}

TEST(ModelConfigTest, ParsesEveryField) {
  auto c = ParseModelConfig(R"({"max_batch_size": 16, "dynamic_batching": {"preferred_batch_size": [8, 4, 8],
      "max_queue_delay_microseconds": 500}, "instance_count": 2, "threads": 3, "parallel": {"dp": 1, "tp": 1}})",
                            "m");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->max_batch_size, 16);
  ASSERT_TRUE(c->dynamic_batching);
  EXPECT_EQ(c->dynamic_batching->preferred_batch_sizes, (std::vector<int64_t>{4, 8}));  // sorted, deduplicated
  EXPECT_EQ(c->dynamic_batching->max_queue_delay_us, 500);
  EXPECT_EQ(c->instance_count, 2);
  EXPECT_EQ(c->threads, 3);
  EXPECT_FALSE(c->parallel.distributed());
}

TEST(ModelConfigTest, EmptyObjectTakesDefaults) {
  auto c = ParseModelConfig("{}", "m");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->max_batch_size);
  EXPECT_FALSE(c->dynamic_batching);
  EXPECT_EQ(c->instance_count, 1);
}

TEST(ModelConfigTest, MalformedJsonNamesTheModel) {
  std::string e = ErrorOf("{\"max_batch_size\": ");
  EXPECT_NE(e.find("resnet"), std::string::npos) << e;
  EXPECT_NE(e.find("not valid JSON"), std::string::npos) << e;
  EXPECT_NE(ErrorOf("[1, 2]").find("must be an object"), std::string::npos);
}

TEST(ModelConfigTest, UnknownFieldIsAnError) {
  EXPECT_NE(ErrorOf(R"({"max_batch_sise": 4})").find("'max_batch_sise' is not a known field"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"max_batch_size": 4, "dynamic_batching": {"delay": 1}})").find("dynamic_batching.delay"),
            std::string::npos);
}

TEST(ModelConfigTest, WrongTypesAndRangesAreErrors) {
  EXPECT_NE(ErrorOf(R"({"max_batch_size": "8"})").find("'max_batch_size' must be an integer"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"max_batch_size": -1})").find("'max_batch_size' must be between"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"max_batch_size": 1.5})").find("must be an integer"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"max_batch_size": 18446744073709551615})").find("at most"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"instance_count": 0})").find("'instance_count'"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"parallel": {"tp": 0}})").find("'parallel.tp'"), std::string::npos);
  EXPECT_NE(
      ErrorOf(R"({"max_batch_size": 4, "dynamic_batching": {"preferred_batch_size": 4}})").find("must be an array"),
      std::string::npos);
}

TEST(ModelConfigTest, DynamicBatchingNeedsMaxBatchSize) {
  EXPECT_NE(ErrorOf(R"({"dynamic_batching": {}})").find("needs a max_batch_size"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"max_batch_size": 0, "dynamic_batching": {}})").find("needs a max_batch_size"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"max_batch_size": 4, "dynamic_batching": {"preferred_batch_size": [8]}})")
                .find("exceeds max_batch_size 4"),
            std::string::npos);
}

TEST(ModelConfigTest, VersionPolicyForms) {
  auto c = ParseModelConfig(R"({"version_policy": {"latest": {"num_versions": 2}}})", "m");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(SelectVersions(c->version_policy, {1, 3, 7}, "m").value(), (std::vector<int64_t>{3, 7}));
  c = ParseModelConfig(R"({"version_policy": {"all": {}}})", "m");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(SelectVersions(c->version_policy, {1, 3, 7}, "m").value(), (std::vector<int64_t>{1, 3, 7}));
  c = ParseModelConfig(R"({"version_policy": {"specific": {"versions": [7, 1]}}})", "m");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(SelectVersions(c->version_policy, {1, 3, 7}, "m").value(), (std::vector<int64_t>{1, 7}));
  auto missing = SelectVersions(c->version_policy, {1, 3}, "m");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("version 7"), std::string::npos);
  EXPECT_EQ(SelectVersions(VersionPolicy{}, {1, 3, 7}, "m").value(), std::vector<int64_t>{7});  // default: latest
}

TEST(ModelConfigTest, MalformedVersionPolicies) {
  EXPECT_NE(ErrorOf(R"({"version_policy": {}})").find("exactly one"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"version_policy": {"all": {}, "latest": {}}})").find("exactly one"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"version_policy": {"newest": {}}})").find("version_policy.newest"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"version_policy": {"all": {"x": 1}}})").find("no fields are allowed"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"version_policy": {"specific": {"versions": []}}})").find("non-empty"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"version_policy": {"specific": {"versions": [-1]}}})").find("versions"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"version_policy": {"latest": {"num_versions": 0}}})").find("num_versions"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"max_queue_size": -3})").find("max_queue_size"), std::string::npos);
}

TEST(ModelConfigTest, WithoutConfigADynamicDimZeroMakesTheModelBatchable) {
  auto plan = ResolveModelConfig({}, {Info("x", {-1, 4})}, {Info("y", {-1, 2})}, "m", 1);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->batchable);
  EXPECT_EQ(plan->max_batch_size, 0);
  EXPECT_FALSE(plan->dynamic_batching);

  plan = ResolveModelConfig({}, {Info("x", {1, 4})}, {Info("y", {-1, 2})}, "m", 1);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->batchable);

  TensorInfo unknown = Info("x", {});
  unknown.has_shape = false;  // might be a scalar: not batched unless the config says so
  plan = ResolveModelConfig({}, {unknown}, {Info("y", {-1, 2})}, "m", 1);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->batchable);
  ModelConfig config;
  config.max_batch_size = 4;
  plan = ResolveModelConfig(config, {unknown}, {Info("y", {-1, 2})}, "m", 1);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->batchable);
}

TEST(ModelConfigTest, MaxBatchSizeOnAFixedDimIsAnErrorNamingTheTensor) {
  ModelConfig config;
  config.max_batch_size = 8;
  auto plan = ResolveModelConfig(config, {Info("x", {-1, 4})}, {Info("probs", {1, 10})}, "m", 1);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("'probs' has dim 0 fixed to 1"), std::string::npos) << plan.status().message();
  config.max_batch_size = 0;  // explicitly not batching is fine on any model
  EXPECT_TRUE(ResolveModelConfig(config, {Info("x", {1, 4})}, {Info("probs", {1, 10})}, "m", 1).ok());
}

TEST(ModelConfigTest, ThreadsComeFromConfigThenServerDefault) {
  ModelConfig config;
  config.threads = 3;
  EXPECT_EQ(InstanceThreads(config, 5), 3);
  config.threads = 0;
  EXPECT_EQ(InstanceThreads(config, 5), 5);
  EXPECT_GE(InstanceThreads(config, 0), 1);
}

}  // namespace
}  // namespace tessera::serve
