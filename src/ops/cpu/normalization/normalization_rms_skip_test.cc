// RMSNormalization, SimplifiedLayerNormalization and the Skip forms through one-node models against
// double-precision references on seeded random shapes, plus rejected skip and gamma shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "testing/one_node_model.h"

namespace tessera {
namespace {

using testing::OneNodeModel;

std::vector<float> Random(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-3.0f, 3.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

Tensor F32(const Shape& shape, const std::vector<float>& v) { return Tensor::FromVector(DType::kFloat32, shape, v); }

// Reference of one row: returns y and sets mean/inv.
std::vector<double> NormRow(const std::vector<double>& s, bool centre, double eps, const std::vector<float>& g,
                            const std::vector<float>* b, double& mean, double& inv) {
  const size_t n = s.size();
  mean = 0;
  if (centre) {
    for (double v : s) mean += v;
    mean /= static_cast<double>(n);
  }
  double sq = 0;
  for (double v : s) sq += (v - mean) * (v - mean);
  inv = 1.0 / std::sqrt(sq / static_cast<double>(n) + eps);
  std::vector<double> y(n);
  for (size_t i = 0; i < n; ++i) y[i] = (s[i] - mean) * inv * g[i] + (b ? (*b)[i] : 0.0);
  return y;
}

TEST(RmsNormTest, RmsAndSimplifiedMatchReferenceInEveryDomain) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 9; ++trial) {
    const int64_t rows = 1 + rng() % 5, h = 1 + rng() % 70;
    std::vector<float> x = Random(static_cast<size_t>(rows * h), rng), g = Random(static_cast<size_t>(h), rng);
    const int kind = trial % 3;  // RMSNormalization 23, Simplified in "", Simplified in com.microsoft
    OneNodeModel m = kind == 0   ? OneNodeModel("RMSNormalization", 23)
                     : kind == 1 ? OneNodeModel("SimplifiedLayerNormalization", 17)
                                 : OneNodeModel("SimplifiedLayerNormalization", 1, "com.microsoft");
    m.Input("x", F32({rows, h}, x)).Input("g", F32({h}, g)).Output("y", 2).Float("epsilon", 1e-4f);
    if (kind != 0) m.Output("inv", 2);
    auto out = m.Run();
    ASSERT_TRUE(out.ok()) << out.status().message();
    for (int64_t r = 0; r < rows; ++r) {
      std::vector<double> s(x.begin() + r * h, x.begin() + (r + 1) * h);
      double mean, inv;
      auto want = NormRow(s, false, 1e-4, g, nullptr, mean, inv);
      for (int64_t i = 0; i < h; ++i) ASSERT_NEAR((*out)[0].data<float>()[r * h + i], want[static_cast<size_t>(i)], 1e-4);
      if (kind != 0) {
        EXPECT_NEAR((*out)[1].data<float>()[r], inv, 1e-4 * inv);
      }
    }
  }
}

TEST(SkipLayerNormTest, BothFormsWithBroadcastSkipMatchReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 8; ++trial) {
    const bool simplified = trial % 2 == 1, broadcast = trial % 4 >= 2, with_bias = trial % 3 != 0;
    const int64_t b = 1 + rng() % 3, s = 1 + rng() % 4, h = 1 + rng() % 40;
    std::vector<float> x = Random(static_cast<size_t>(b * s * h), rng);
    std::vector<float> skip = Random(static_cast<size_t>((broadcast ? 1 : b) * s * h), rng);
    std::vector<float> g = Random(static_cast<size_t>(h), rng), beta = Random(static_cast<size_t>(h), rng);
    std::vector<float> bias = Random(static_cast<size_t>(h), rng);
    OneNodeModel m(simplified ? "SkipSimplifiedLayerNormalization" : "SkipLayerNormalization", 1, "com.microsoft");
    m.Input("x", F32({b, s, h}, x)).Input("skip", F32(broadcast ? Shape{s, h} : Shape{b, s, h}, skip));
    m.Input("g", F32({h}, g));
    if (!simplified) m.Input("beta", F32({h}, beta));
    if (with_bias) m.Input("bias", F32({h}, bias));
    auto out = m.Output("y", 3).Output("mean", 3).Output("inv", 3).Output("sum", 3).Float("epsilon", 1e-5f).Run();
    ASSERT_TRUE(out.ok()) << out.status().message();
    ASSERT_EQ((*out)[1].shape(), (Shape{b, s, 1}));
    const int64_t skip_count = static_cast<int64_t>(skip.size());
    for (int64_t r = 0; r < b * s; ++r) {
      std::vector<double> sum(static_cast<size_t>(h));
      for (int64_t i = 0; i < h; ++i) {
        sum[static_cast<size_t>(i)] = static_cast<double>(x[static_cast<size_t>(r * h + i)]) +
                                      skip[static_cast<size_t>((r * h + i) % skip_count)] +
                                      (with_bias ? bias[static_cast<size_t>(i)] : 0.0);
      }
      double mean, inv;
      auto want = NormRow(sum, !simplified, 1e-5, g, simplified ? nullptr : &beta, mean, inv);
      for (int64_t i = 0; i < h; ++i) {
        ASSERT_NEAR((*out)[0].data<float>()[r * h + i], want[static_cast<size_t>(i)], 2e-4) << "row " << r;
        ASSERT_NEAR((*out)[3].data<float>()[r * h + i], sum[static_cast<size_t>(i)], 1e-5);
      }
      EXPECT_NEAR((*out)[1].data<float>()[r], mean, 1e-5);
      EXPECT_NEAR((*out)[2].data<float>()[r], inv, 1e-4 * inv);
    }
  }
}

TEST(SkipLayerNormTest, MismatchedSkipAndGammaAreRejected) {
  std::mt19937 rng(3);
  auto bad_skip = OneNodeModel("SkipLayerNormalization", 1, "com.microsoft").Input("x", F32({2, 3, 4}, Random(24, rng)))
                      .Input("skip", F32({3, 5}, Random(15, rng))).Input("g", F32({4}, Random(4, rng)))
                      .Output("y", 3).Run();
  ASSERT_FALSE(bad_skip.ok());
  EXPECT_NE(bad_skip.status().message().find("input 'skip'"), std::string::npos) << bad_skip.status().message();
  auto bad_gamma = OneNodeModel("RMSNormalization", 23).Input("x", F32({2, 4}, Random(8, rng)))
                       .Input("g", F32({3}, Random(3, rng))).Output("y", 2).Run();
  ASSERT_FALSE(bad_gamma.ok());
  EXPECT_NE(bad_gamma.status().message().find("input 'scale' must have 4 elements"), std::string::npos)
      << bad_gamma.status().message();
}

}  // namespace
}  // namespace tessera
