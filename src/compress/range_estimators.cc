// Min-max, percentile and entropy range estimation (see range_estimators.h).
#include "compress/range_estimators.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tessera::compress {

void ValueRange::Add(const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) continue;  // an inf or NaN would make every scale useless
    if (!seen) {
      min = max = x[i];
      seen = true;
    }
    min = std::min(min, x[i]);
    max = std::max(max, x[i]);
  }
}

float ValueRange::AbsMax() const { return std::max(std::fabs(min), std::fabs(max)); }

AbsHistogram::AbsHistogram(float amax)
    : width_(amax > 0.0f ? amax / kHistogramBins : 1.0f), bins_(kHistogramBins, 0.0) {}

void AbsHistogram::Add(const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) continue;
    const int bin = std::min(kHistogramBins - 1, static_cast<int>(std::fabs(x[i]) / width_));
    bins_[static_cast<size_t>(bin)] += 1.0;
  }
}

float PercentileThreshold(const AbsHistogram& h, double percentile) {
  double total = 0.0;
  for (double b : h.bins()) total += b;
  if (total == 0.0) return 0.0f;
  const double want = total * percentile / 100.0;
  double cumulative = 0.0;
  for (int i = 0; i < kHistogramBins; ++i) {
    cumulative += h.bins()[static_cast<size_t>(i)];
    if (cumulative >= want) return static_cast<float>(i + 1) * h.bin_width();
  }
  return static_cast<float>(kHistogramBins) * h.bin_width();
}

namespace {

// KL(p || q) over bins where p > 0; q is smoothed where it is 0 so the divergence stays finite.
double KlDivergence(const std::vector<double>& p, const std::vector<double>& q) {
  double p_sum = 0.0, q_sum = 0.0;
  for (size_t i = 0; i < p.size(); ++i) {
    p_sum += p[i];
    q_sum += q[i];
  }
  if (p_sum == 0.0 || q_sum == 0.0) return std::numeric_limits<double>::infinity();
  double kl = 0.0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == 0.0) continue;
    const double pi = p[i] / p_sum, qi = std::max(q[i] / q_sum, 1e-12);
    kl += pi * std::log(pi / qi);
  }
  return kl;
}

}  // namespace

float EntropyThreshold(const AbsHistogram& h, int levels) {
  const std::vector<double>& bins = h.bins();
  double best = std::numeric_limits<double>::infinity();
  int best_i = kHistogramBins;
  for (int i = levels; i <= kHistogramBins; ++i) {
    // p: the first i bins with everything beyond folded into the last (what clipping at bin i does).
    std::vector<double> p(bins.begin(), bins.begin() + i);
    for (int j = i; j < kHistogramBins; ++j) p.back() += bins[static_cast<size_t>(j)];
    // q: the first i bins merged into `levels` groups, each group's mass spread over its non-empty bins.
    std::vector<double> q(static_cast<size_t>(i), 0.0);
    for (int g = 0; g < levels; ++g) {
      const int start = g * i / levels, stop = (g + 1) * i / levels;
      double mass = 0.0;
      int nonzero = 0;
      for (int j = start; j < stop; ++j) {
        mass += bins[static_cast<size_t>(j)];
        nonzero += bins[static_cast<size_t>(j)] > 0.0 ? 1 : 0;
      }
      for (int j = start; j < stop && nonzero > 0; ++j) {
        if (bins[static_cast<size_t>(j)] > 0.0) q[static_cast<size_t>(j)] = mass / nonzero;
      }
    }
    const double kl = KlDivergence(p, q);
    if (kl < best) {
      best = kl;
      best_i = i;
    }
  }
  return static_cast<float>(best_i) * h.bin_width();
}

ValueRange ClipRange(const ValueRange& r, float t) {
  ValueRange out = r;
  out.min = std::max(r.min, -t);
  out.max = std::min(r.max, t);
  return out;
}

}  // namespace tessera::compress
