// The sampling algorithm of sampling.h.
#include "generate/sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_set>

namespace tessera::generate {

namespace {
constexpr float kMasked = -std::numeric_limits<float>::infinity();
}  // namespace

Status ValidateSamplingOptions(const SamplingOptions& o) {
  if (!(o.temperature >= 0.0f) || !std::isfinite(o.temperature)) {
    return InvalidArgument("--temperature must be a finite number >= 0 (0 is greedy)");
  }
  if (o.top_k < 0) return InvalidArgument("--top-k must be >= 0 (0 is off)");
  if (!(o.top_p > 0.0f && o.top_p <= 1.0f)) return InvalidArgument("--top-p must be in (0, 1]");
  if (!(o.min_p >= 0.0f && o.min_p < 1.0f)) return InvalidArgument("--min-p must be in [0, 1)");
  if (!(o.repetition_penalty > 0.0f) || !std::isfinite(o.repetition_penalty)) {
    return InvalidArgument("--repetition-penalty must be a finite number > 0 (1 is off)");
  }
  return Status::Ok();
}

void ApplyRepetitionPenalty(std::vector<float>& logits, const std::vector<int32_t>& history, float penalty) {
  if (penalty == 1.0f) return;
  std::unordered_set<int32_t> seen;
  for (int32_t t : history) {
    if (t < 0 || static_cast<size_t>(t) >= logits.size() || !seen.insert(t).second) continue;
    float& l = logits[static_cast<size_t>(t)];
    l = l > 0 ? l / penalty : l * penalty;
  }
}

void MaskTopK(std::vector<float>& logits, int32_t k) {
  if (k <= 0 || static_cast<size_t>(k) >= logits.size()) return;
  std::vector<float> sorted = logits;
  std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end(), std::greater<float>());
  const float kth = sorted[static_cast<size_t>(k - 1)];
  for (float& l : logits) {
    if (l < kth) l = kMasked;
  }
}

void MaskTopP(std::vector<float>& probs, float p) {
  if (p >= 1.0f) return;
  std::vector<size_t> order(probs.size());
  std::iota(order.begin(), order.end(), 0);
  // Stable: equal probabilities keep id order, so the kept set does not depend on the sort's whims.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return probs[a] > probs[b]; });
  double cumulative = 0;
  size_t keep = 0;
  while (keep < order.size()) {
    cumulative += probs[order[keep]];
    ++keep;
    if (cumulative >= p) break;
  }
  for (size_t i = keep; i < order.size(); ++i) probs[order[i]] = 0.0f;
}

void MaskMinP(std::vector<float>& probs, float min_p) {
  if (min_p <= 0.0f || probs.empty()) return;
  const float threshold = min_p * *std::max_element(probs.begin(), probs.end());
  for (float& q : probs) {
    if (q < threshold) q = 0.0f;
  }
}

int32_t ArgMax(const std::vector<float>& values) {
  size_t best = 0;
  for (size_t i = 1; i < values.size(); ++i) {
    if (values[i] > values[best]) best = i;
  }
  return static_cast<int32_t>(best);
}

int32_t TokenSampler::Sample(std::vector<float>& logits, const std::vector<int32_t>& history) {
  ApplyRepetitionPenalty(logits, history, options_.repetition_penalty);
  if (options_.temperature == 0.0f) return ArgMax(logits);
  for (float& l : logits) l /= options_.temperature;
  MaskTopK(logits, options_.top_k);
  const float max_logit = *std::max_element(logits.begin(), logits.end());
  std::vector<float> probs(logits.size());
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    probs[i] = logits[i] == kMasked ? 0.0f : std::exp(logits[i] - max_logit);
    sum += probs[i];
  }
  for (float& q : probs) q = static_cast<float>(q / sum);
  MaskTopP(probs, options_.top_p);
  MaskMinP(probs, options_.min_p);
  double kept = 0;
  for (float q : probs) kept += q;
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53 * kept;
  double cumulative = 0;
  size_t last_nonzero = 0;
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] == 0.0f) continue;
    last_nonzero = i;
    cumulative += probs[i];
    if (cumulative > u) return static_cast<int32_t>(i);
  }
  return static_cast<int32_t>(last_nonzero);  // rounding left u at the very top
}

}  // namespace tessera::generate
