// Normalization and loss kernels through one-node models against double-precision references, plus
// rejected inputs (bad parameter shapes, out-of-range targets).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "testing/one_node_model.h"

namespace tessera {
namespace {

using testing::OneNodeModel;

std::vector<float> RandomVector(size_t n, std::mt19937& rng, float lo = -3.0f, float hi = 3.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

Tensor F32(const Shape& shape, const std::vector<float>& v) { return Tensor::FromVector(DType::kFloat32, shape, v); }

TEST(LayerNormTest, RandomRowsMatchReferenceWithStatistics) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 12; ++trial) {
    const int64_t rows = 1 + static_cast<int64_t>(rng() % 6), a = 1 + static_cast<int64_t>(rng() % 3);
    const int64_t b = 1 + static_cast<int64_t>(rng() % 50);
    const Shape shape{rows, a, b};
    const bool two_axes = trial % 2 == 0;  // normalise over [a, b] or over [b]
    const bool with_bias = trial % 3 != 0;
    const int64_t n = two_axes ? a * b : b;
    const Shape norm_shape = two_axes ? Shape{a, b} : Shape{b};
    // An offset of 100 checks that the variance does not suffer from cancellation.
    std::vector<float> x = RandomVector(static_cast<size_t>(rows * a * b), rng, 97.0f, 103.0f);
    std::vector<float> scale = RandomVector(static_cast<size_t>(n), rng), bias = RandomVector(static_cast<size_t>(n), rng);
    OneNodeModel m("LayerNormalization", 17);
    m.Input("x", F32(shape, x)).Input("scale", F32(norm_shape, scale));
    if (with_bias) m.Input("bias", F32(norm_shape, bias));
    auto out = m.Output("y", 3).Output("mean", 3).Output("inv_std", 3).Int("axis", two_axes ? -2 : 2).Float("epsilon", 1e-3f).Run();
    ASSERT_TRUE(out.ok()) << out.status().message();
    const int64_t groups = rows * a * b / n;
    ASSERT_EQ((*out)[1].element_count(), groups);
    for (int64_t g = 0; g < groups; ++g) {
      double mean = 0, var = 0;
      for (int64_t i = 0; i < n; ++i) mean += x[static_cast<size_t>(g * n + i)];
      mean /= static_cast<double>(n);
      for (int64_t i = 0; i < n; ++i) var += std::pow(x[static_cast<size_t>(g * n + i)] - mean, 2);
      const double inv_std = 1.0 / std::sqrt(var / static_cast<double>(n) + 1e-3);
      EXPECT_NEAR((*out)[1].data<float>()[g], mean, 1e-3);
      EXPECT_NEAR((*out)[2].data<float>()[g], inv_std, 1e-3 * inv_std);
      for (int64_t i = 0; i < n; ++i) {
        const size_t e = static_cast<size_t>(g * n + i);
        const double want = (x[e] - mean) * inv_std * scale[static_cast<size_t>(i)] + (with_bias ? bias[static_cast<size_t>(i)] : 0.0);
        ASSERT_NEAR((*out)[0].data<float>()[e], want, 2e-3) << "row " << g << " element " << i;
      }
    }
  }
}

TEST(LayerNormTest, ScaleBroadcastsOverLeadingNormalizedDim) {
  std::mt19937 rng(3);
  auto out = OneNodeModel("LayerNormalization", 17).Input("x", F32({2, 3, 4}, RandomVector(24, rng)))
                 .Input("scale", F32({1, 4}, {1, 1, 1, 1})).Output("y", 3).Int("axis", 1).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
}

TEST(LayerNormTest, MismatchedScaleIsRejected) {
  std::mt19937 rng(4);
  auto out = OneNodeModel("LayerNormalization", 17).Input("x", F32({2, 4}, RandomVector(8, rng)))
                 .Input("scale", F32({3}, {1, 1, 1})).Output("y", 2).Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("Scale"), std::string::npos) << out.status().message();
}

TEST(BatchNormTest, InferenceMatchesFormula) {
  std::mt19937 rng(5);
  std::vector<float> x = RandomVector(2 * 3 * 5, rng), var = RandomVector(3, rng, 0.1f, 2.0f);
  std::vector<float> scale = RandomVector(3, rng), bias = RandomVector(3, rng), mean = RandomVector(3, rng);
  auto out = OneNodeModel("BatchNormalization", 9).Input("x", F32({2, 3, 5}, x)).Input("s", F32({3}, scale))
                 .Input("b", F32({3}, bias)).Input("m", F32({3}, mean)).Input("v", F32({3}, var)).Output("y", 3).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  for (size_t e = 0; e < x.size(); ++e) {
    const size_t c = (e / 5) % 3;
    const double want = (x[e] - mean[c]) / std::sqrt(var[c] + 1e-5) * scale[c] + bias[c];
    EXPECT_NEAR((*out)[0].data<float>()[e], want, 1e-4);
  }
}

TEST(BatchNormTest, WrongParameterLengthIsRejected) {
  std::mt19937 rng(6);
  auto out = OneNodeModel("BatchNormalization", 15).Input("x", F32({1, 3, 2}, RandomVector(6, rng)))
                 .Input("s", F32({2}, {1, 1})).Input("b", F32({3}, {0, 0, 0})).Input("m", F32({3}, {0, 0, 0}))
                 .Input("v", F32({3}, {1, 1, 1})).Output("y", 3).Run();
  EXPECT_FALSE(out.ok());
}

TEST(InstanceNormTest, EachRowIsNormalised) {
  std::mt19937 rng(7);
  std::vector<float> x = RandomVector(2 * 2 * 6, rng);
  auto out = OneNodeModel("InstanceNormalization", 6).Input("x", F32({2, 2, 6}, x)).Input("s", F32({2}, {1, 2}))
                 .Input("b", F32({2}, {0, 1})).Output("y", 3).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  for (int row = 0; row < 4; ++row) {
    double sum = 0;
    for (int i = 0; i < 6; ++i) sum += (*out)[0].data<float>()[row * 6 + i];
    EXPECT_NEAR(sum / 6, row % 2 == 0 ? 0.0 : 1.0, 1e-5);
  }
}

TEST(LpNormTest, L1RowsSumToOneInAbsoluteValue) {
  auto out = OneNodeModel("LpNormalization", 1).Input("x", F32({2, 2}, {1, -3, 0, 0})).Output("y", 2).Int("p", 1).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_FLOAT_EQ((*out)[0].data<float>()[1], -0.75f);
  EXPECT_FLOAT_EQ((*out)[0].data<float>()[2], 0.0f);  // a zero vector stays zero
  EXPECT_FALSE(OneNodeModel("LpNormalization", 1).Input("x", F32({2}, {1, 2})).Output("y", 1).Int("p", 3).Run().ok());
}

TEST(LossTest, NllMeanWithWeightsAndIgnoreIndex) {
  // log-probabilities [N=3, C=2]; targets {0, 1, ignored}.
  Tensor input = F32({3, 2}, {-0.1f, -2.0f, -1.5f, -0.3f, -0.7f, -0.7f});
  Tensor target = Tensor::FromVector(DType::kInt64, {3}, std::vector<int64_t>{0, 1, 5});
  auto out = OneNodeModel("NegativeLogLikelihoodLoss", 13).Input("input", input).Input("target", target)
                 .Input("weight", F32({2}, {2.0f, 0.5f})).Output("loss", 0).Int("ignore_index", 5).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_NEAR((*out)[0].data<float>()[0], (0.1 * 2.0 + 0.3 * 0.5) / 2.5, 1e-6);
}

TEST(LossTest, OutOfRangeTargetIsRejected) {
  Tensor input = F32({1, 2}, {-0.1f, -2.0f});
  Tensor target = Tensor::FromVector(DType::kInt64, {1}, std::vector<int64_t>{2});
  auto out = OneNodeModel("NegativeLogLikelihoodLoss", 13).Input("input", input).Input("target", target).Output("loss", 0).Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("out of range"), std::string::npos) << out.status().message();
}

TEST(LossTest, SoftmaxCrossEntropyReturnsLogProb) {
  Tensor scores = F32({1, 3, 2}, {0, 1, 0, 1, 0, 1});  // uniform over C at every position
  Tensor labels = Tensor::FromVector(DType::kInt32, {1, 2}, std::vector<int32_t>{2, 0});
  auto out = OneNodeModel("SoftmaxCrossEntropyLoss", 13).Input("x", scores).Input("y", labels)
                 .Output("loss", 2).Output("log_prob", 3).String("reduction", "none").Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_NEAR((*out)[0].data<float>()[1], std::log(3.0), 1e-6);
  EXPECT_NEAR((*out)[1].data<float>()[4], -std::log(3.0), 1e-6);
}

TEST(LossTest, MismatchedTargetShapeIsRejected) {
  Tensor scores = F32({2, 3}, {0, 0, 0, 0, 0, 0});
  Tensor labels = Tensor::FromVector(DType::kInt64, {3}, std::vector<int64_t>{0, 1, 2});
  EXPECT_FALSE(OneNodeModel("SoftmaxCrossEntropyLoss", 13).Input("x", scores).Input("y", labels).Output("loss", 0).Run().ok());
}

}  // namespace
}  // namespace tessera
