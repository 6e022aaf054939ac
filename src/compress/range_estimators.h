// Activation ranges from calibration values: min-max, percentile and entropy (KL divergence).
//
// Percentile and entropy both work on a histogram of |x| over [0, amax] (kHistogramBins bins), built in
// a second pass once min-max has fixed amax. Each yields a threshold t; the range is then [min, max]
// clipped to [-t, t]. Percentile: t is the value below which `percentile` % of |x| lies. Entropy: t is
// the bin edge whose clipped distribution, requantized to 128 levels, is closest in KL divergence to
// the clipped original (the calibration TensorRT describes for int8).
#pragma once

#include <cstdint>
#include <vector>

namespace tessera::compress {

constexpr int kHistogramBins = 2048;

struct ValueRange {
  float min = 0.0f, max = 0.0f;
  bool seen = false;
  void Add(const float* x, int64_t n);
  float AbsMax() const;
};

class AbsHistogram {
 public:
  explicit AbsHistogram(float amax);
  void Add(const float* x, int64_t n);
  float bin_width() const { return width_; }
  const std::vector<double>& bins() const { return bins_; }

 private:
  float width_;
  std::vector<double> bins_;
};

float PercentileThreshold(const AbsHistogram& h, double percentile);
float EntropyThreshold(const AbsHistogram& h, int quantized_levels = 128);
// [r.min, r.max] clipped to [-t, t].
ValueRange ClipRange(const ValueRange& r, float t);

}  // namespace tessera::compress
