// Combining ensemble outputs: each aggregation against values computed here, and every mismatch refused
// with a message naming the models.
#include "parallel/ensemble/ensemble_aggregate.h"

#include <gtest/gtest.h>

#include <random>

namespace tessera {
namespace {

Tensor Random(const Shape& shape, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-2.f, 2.f);
  std::vector<float> v(static_cast<size_t>(ShapeElementCount(shape)));
  for (float& x : v) x = dist(rng);
  return Tensor::FromVector(DType::kFloat32, shape, v);
}

TEST(EnsembleAggregateTest, SumAndMeanMatchElementwiseArithmetic) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const int models = 2 + static_cast<int>(rng() % 3);
  const Shape shape = {1 + static_cast<int64_t>(rng() % 3), 1 + static_cast<int64_t>(rng() % 7)};
  std::vector<std::vector<Tensor>> outputs;
  std::vector<std::string> names;
  for (int m = 0; m < models; ++m) {
    outputs.push_back({Random(shape, rng), Random({3}, rng)});
    names.push_back(std::string(1, 'm').append(std::to_string(m)));
  }
  for (auto aggregation : {EnsembleAggregation::kSum, EnsembleAggregation::kMean}) {
    auto combined = AggregateEnsembleOutputs(outputs, names, aggregation);
    ASSERT_TRUE(combined.ok()) << combined.status().message();
    ASSERT_EQ(combined->size(), 2u);
    for (size_t k = 0; k < 2; ++k) {
      const Tensor& got = (*combined)[k];
      ASSERT_EQ(got.shape(), outputs[0][k].shape());
      for (int64_t i = 0; i < got.element_count(); ++i) {
        double want = 0;
        for (int m = 0; m < models; ++m) want += outputs[m][k].data<float>()[i];
        if (aggregation == EnsembleAggregation::kMean) want /= models;
        EXPECT_NEAR(got.data<float>()[i], want, 1e-5) << "output " << k << " element " << i;
      }
    }
  }
}

TEST(EnsembleAggregateTest, ConcatStacksModelsAlongAxisZero) {
  auto a = Tensor::FromVector(DType::kInt64, {1, 2}, std::vector<int64_t>{1, 2});
  auto b = Tensor::FromVector(DType::kInt64, {2, 2}, std::vector<int64_t>{3, 4, 5, 6});
  auto combined = AggregateEnsembleOutputs({{a}, {b}}, {"a", "b"}, EnsembleAggregation::kConcat);
  ASSERT_TRUE(combined.ok()) << combined.status().message();
  const Tensor& t = (*combined)[0];
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(t.data<int64_t>()[i], i + 1);
}

TEST(EnsembleAggregateTest, IntegerSumIsExactAndIntegerMeanIsRefused) {
  auto a = Tensor::FromVector(DType::kInt32, {2}, std::vector<int32_t>{7, -3});
  auto b = Tensor::FromVector(DType::kInt32, {2}, std::vector<int32_t>{1, 1});
  auto sum = AggregateEnsembleOutputs({{a}, {b}}, {"a", "b"}, EnsembleAggregation::kSum);
  ASSERT_TRUE(sum.ok()) << sum.status().message();
  EXPECT_EQ((*sum)[0].data<int32_t>()[0], 8);
  EXPECT_EQ((*sum)[0].data<int32_t>()[1], -2);
  auto mean = AggregateEnsembleOutputs({{a}, {b}}, {"a", "b"}, EnsembleAggregation::kMean);
  ASSERT_FALSE(mean.ok());
  EXPECT_NE(mean.status().message().find("int32"), std::string::npos) << mean.status().message();
}

TEST(EnsembleAggregateTest, MismatchesNameBothModels) {
  auto f23 = Tensor::FromVector(DType::kFloat32, {2, 3}, std::vector<float>(6, 1.f));
  auto f32 = Tensor::FromVector(DType::kFloat32, {3, 2}, std::vector<float>(6, 1.f));
  auto f13 = Tensor::FromVector(DType::kFloat32, {1, 3}, std::vector<float>(3, 1.f));
  auto i23 = Tensor::FromVector(DType::kInt64, {2, 3}, std::vector<int64_t>(6, 1));
  struct Case {
    std::vector<std::vector<Tensor>> outputs;
    EnsembleAggregation aggregation;
    const char* message;
  };
  const std::vector<Case> cases = {
      {{{f23}, {f23, f23}}, EnsembleAggregation::kSum, "disagree on the number of outputs: 'first' has 1, 'second' has 2"},
      {{{f23}, {f32}}, EnsembleAggregation::kSum, "'first' gives float32 [2,3], 'second' gives float32 [3,2]"},
      {{{f23}, {f13}}, EnsembleAggregation::kMean, "sum and mean need equal dtypes and shapes"},
      {{{f23}, {i23}}, EnsembleAggregation::kConcat, "'second' gives int64 [2,3]"},
      {{{f23}, {f32}}, EnsembleAggregation::kConcat, "all dims but the first"},
  };
  for (const Case& c : cases) {
    auto combined = AggregateEnsembleOutputs(c.outputs, {"first", "second"}, c.aggregation);
    ASSERT_FALSE(combined.ok()) << c.message;
    EXPECT_NE(combined.status().message().find(c.message), std::string::npos) << combined.status().message();
  }
  // Differing first dims are what concat is for.
  EXPECT_TRUE(AggregateEnsembleOutputs({{f23}, {f13}}, {"first", "second"}, EnsembleAggregation::kConcat).ok());
}

TEST(EnsembleAggregateTest, ParsesOnlyTheThreeNames) {
  EXPECT_TRUE(ParseEnsembleAggregation("sum").ok());
  EXPECT_TRUE(ParseEnsembleAggregation("mean").ok());
  EXPECT_TRUE(ParseEnsembleAggregation("concat").ok());
  auto bad = ParseEnsembleAggregation("max");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("sum, mean or concat"), std::string::npos);
}

}  // namespace
}  // namespace tessera
