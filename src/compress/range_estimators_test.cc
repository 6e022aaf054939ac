// Calibration range estimators: min-max skips non-finite values, percentile and entropy clip a lone
// outlier that min-max keeps.
#include "compress/range_estimators.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

namespace tessera::compress {
namespace {

// 100000 normal values (sigma 1) and one outlier at 100.
std::vector<float> ValuesWithOutlier(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(100000);
  for (float& v : x) v = dist(rng);
  x.push_back(100.0f);
  return x;
}

TEST(RangeEstimatorsTest, MinMaxSkipsInfAndNaN) {
  const std::vector<float> x = {1.0f, -3.0f, std::numeric_limits<float>::infinity(), std::nanf(""), 2.0f};
  ValueRange r;
  r.Add(x.data(), static_cast<int64_t>(x.size()));
  EXPECT_FLOAT_EQ(r.min, -3.0f);
  EXPECT_FLOAT_EQ(r.max, 2.0f);
}

TEST(RangeEstimatorsTest, PercentileClipsTheOutlier) {
  const uint32_t seed = 5;
  const auto x = ValuesWithOutlier(seed);
  ValueRange r;
  r.Add(x.data(), static_cast<int64_t>(x.size()));
  AbsHistogram h(r.AbsMax());
  h.Add(x.data(), static_cast<int64_t>(x.size()));
  const float t = PercentileThreshold(h, 99.99);
  EXPECT_GT(t, 3.0f) << "seed " << seed;  // |x| of a unit normal passes 3.9 once in 10^4
  EXPECT_LT(t, 6.0f) << "seed " << seed;
  const ValueRange clipped = ClipRange(r, t);
  EXPECT_LE(clipped.max, t);
}

TEST(RangeEstimatorsTest, EntropyThresholdIsFarBelowTheOutlier) {
  const uint32_t seed = 6;
  const auto x = ValuesWithOutlier(seed);
  ValueRange r;
  r.Add(x.data(), static_cast<int64_t>(x.size()));
  AbsHistogram h(r.AbsMax());
  h.Add(x.data(), static_cast<int64_t>(x.size()));
  const float t = EntropyThreshold(h);
  EXPECT_GT(t, 1.0f) << "seed " << seed;
  EXPECT_LT(t, 20.0f) << "seed " << seed;
}

}  // namespace
}  // namespace tessera::compress
