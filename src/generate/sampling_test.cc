// Sampling: each masking step, the repetition penalty's arithmetic, greedy ties, seeded reproducibility
// and that draws follow the distribution.
#include "generate/sampling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>

namespace tessera::generate {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(SamplingTest, RepetitionPenaltyDividesPositiveAndMultipliesNegativeOncePerToken) {
  std::vector<float> logits = {2.0f, -1.0f, 3.0f, 0.5f};
  ApplyRepetitionPenalty(logits, {0, 1, 1, 1, 7, -3}, 2.0f);  // repeats count once; ids out of range ignored
  EXPECT_FLOAT_EQ(logits[0], 1.0f);
  EXPECT_FLOAT_EQ(logits[1], -2.0f);
  EXPECT_FLOAT_EQ(logits[2], 3.0f);
  EXPECT_FLOAT_EQ(logits[3], 0.5f);
}

TEST(SamplingTest, TopKKeepsTheKLargestAndTiesAtTheKth) {
  std::vector<float> logits = {1, 5, 3, 3, 0};
  MaskTopK(logits, 2);
  EXPECT_EQ(logits[1], 5);
  EXPECT_EQ(logits[2], 3);
  EXPECT_EQ(logits[3], 3);  // tied with the 2nd largest
  EXPECT_EQ(logits[0], -kInf);
  EXPECT_EQ(logits[4], -kInf);
}

TEST(SamplingTest, TopPKeepsTheSmallestPrefixReachingP) {
  std::vector<float> probs = {0.1f, 0.5f, 0.3f, 0.1f};
  MaskTopP(probs, 0.75f);  // 0.5 + 0.3 >= 0.75
  EXPECT_EQ(probs, (std::vector<float>{0, 0.5f, 0.3f, 0}));
  std::vector<float> tiny = {0.2f, 0.6f, 0.2f};
  MaskTopP(tiny, 0.01f);  // always at least the most probable token
  EXPECT_EQ(tiny, (std::vector<float>{0, 0.6f, 0}));
}

TEST(SamplingTest, MinPDropsTokensBelowAFractionOfTheBest) {
  std::vector<float> probs = {0.5f, 0.3f, 0.15f, 0.05f};
  MaskMinP(probs, 0.25f);  // threshold 0.125
  EXPECT_EQ(probs, (std::vector<float>{0.5f, 0.3f, 0.15f, 0}));
}

TEST(SamplingTest, GreedyTakesTheLowestIdOnTies) {
  EXPECT_EQ(ArgMax({1, 4, 2, 4}), 1);
  TokenSampler greedy({});
  std::vector<float> logits = {0, 9, 9, 1};
  EXPECT_EQ(greedy.Sample(logits, {}), 1);
}

TEST(SamplingTest, RepetitionPenaltyChangesTheGreedyChoice) {
  SamplingOptions o;
  o.repetition_penalty = 3.0f;
  TokenSampler sampler(o);
  std::vector<float> logits = {3.0f, 2.0f};
  EXPECT_EQ(sampler.Sample(logits, {0}), 1);  // 3 / 3 = 1 < 2
}

std::vector<int32_t> Draws(const SamplingOptions& o, int n) {
  TokenSampler sampler(o);
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) {
    std::vector<float> logits = {0.1f, 1.0f, 0.5f, -0.3f, 0.8f, 0.0f};
    out.push_back(sampler.Sample(logits, {}));
  }
  return out;
}

TEST(SamplingTest, SameSeedSameTokensOtherSeedOtherTokens) {
  SamplingOptions o;
  o.temperature = 1.0f;
  o.seed = 42;
  EXPECT_EQ(Draws(o, 200), Draws(o, 200));
  SamplingOptions other = o;
  other.seed = 43;
  EXPECT_NE(Draws(o, 200), Draws(other, 200));
}

TEST(SamplingTest, DrawsFollowTheSoftmaxAtTheTemperature) {
  SamplingOptions o;
  o.temperature = 0.7f;
  o.seed = 7;
  const std::vector<float> logits = {0.1f, 1.0f, 0.5f, -0.3f, 0.8f, 0.0f};
  double sum = 0;
  std::vector<double> expected;
  for (float l : logits) sum += std::exp(l / 0.7);
  for (float l : logits) expected.push_back(std::exp(l / 0.7) / sum);
  TokenSampler sampler(o);
  const int n = 20000;
  std::vector<int> counts(logits.size());
  for (int i = 0; i < n; ++i) {
    std::vector<float> row = logits;
    ++counts[static_cast<size_t>(sampler.Sample(row, {}))];
  }
  for (size_t v = 0; v < logits.size(); ++v) {
    // 4.5 standard deviations of a binomial count: fails by chance about once in 10^5 runs (seed 7 fixed).
    const double sd = std::sqrt(n * expected[v] * (1 - expected[v]));
    EXPECT_NEAR(counts[v], n * expected[v], 4.5 * sd) << "token " << v << ", seed " << o.seed;
  }
}

TEST(SamplingTest, MaskedTokensAreNeverDrawn) {
  SamplingOptions o;
  o.temperature = 2.0f;  // flattens the distribution, so masking is what keeps tokens out
  o.top_k = 3;
  o.top_p = 0.9f;
  o.min_p = 0.05f;
  o.seed = 3;
  TokenSampler sampler(o);
  std::map<int32_t, int> seen;
  for (int i = 0; i < 2000; ++i) {
    std::vector<float> logits = {0.1f, 1.0f, 0.5f, -0.3f, 0.8f, 0.0f};
    ++seen[sampler.Sample(logits, {})];
  }
  for (const auto& [token, count] : seen) EXPECT_TRUE(token == 1 || token == 2 || token == 4) << token;
}

TEST(SamplingTest, OptionsOutOfRangeNameTheFlag) {
  SamplingOptions o;
  o.temperature = -1;
  EXPECT_NE(ValidateSamplingOptions(o).message().find("--temperature"), std::string::npos);
  o = {};
  o.top_p = 0;
  EXPECT_NE(ValidateSamplingOptions(o).message().find("--top-p"), std::string::npos);
  o.top_p = 1.5f;
  EXPECT_FALSE(ValidateSamplingOptions(o).ok());
  o = {};
  o.min_p = 1;
  EXPECT_FALSE(ValidateSamplingOptions(o).ok());
  o = {};
  o.repetition_penalty = 0;
  EXPECT_FALSE(ValidateSamplingOptions(o).ok());
  EXPECT_TRUE(ValidateSamplingOptions({}).ok());
}

}  // namespace
}  // namespace tessera::generate
