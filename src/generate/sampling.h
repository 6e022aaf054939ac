// Choosing the next token from a row of logits.
//
// The algorithm, in this order (Hugging Face's processors and warpers, so settings carry over):
//   1. repetition penalty r (CTRL, Keskar et al. 2019): for each distinct token already in the sequence
//      (prompt included), a logit l becomes l / r when l > 0 and l * r otherwise; r = 1 is off;
//   2. temperature 0 is greedy: the largest logit, the lowest id on ties; no random draw, steps 3-6 skipped;
//   3. logits divided by the temperature;
//   4. top-k: only the k largest logits stay (ties at the k-th value stay too); k = 0 is off;
//   5. softmax, then top-p (nucleus): the most probable tokens whose cumulative probability first reaches
//      p stay (always at least one); p = 1 is off;
//   6. min-p: tokens with probability below min_p times the largest probability go; 0 is off;
//   7. a draw u in [0, 1) from std::mt19937_64 (53 high bits of one output, times 2^-53) picks the first
//      token, in id order, whose cumulative renormalised probability exceeds u.
// Same seed, same logits -> same tokens, on every platform (mt19937_64 is specified by the standard; the
// arithmetic is plain float/double with no library randomness).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "tessera/status.h"

namespace tessera::generate {

struct SamplingOptions {
  float temperature = 0.0f;  // 0: greedy
  int32_t top_k = 0;         // 0: off
  float top_p = 1.0f;        // in (0, 1]; 1: off
  float min_p = 0.0f;        // in [0, 1); 0: off
  float repetition_penalty = 1.0f;  // > 0; 1: off
  uint64_t seed = 0;
};

// Checks the ranges above; errors name the option (as a command-line flag).
Status ValidateSamplingOptions(const SamplingOptions& options);

// The steps of the algorithm, exposed for tests. Masked logits become -infinity.
void ApplyRepetitionPenalty(std::vector<float>& logits, const std::vector<int32_t>& history, float penalty);
void MaskTopK(std::vector<float>& logits, int32_t k);
// `probs` sums to 1; masked entries become 0 (not renormalised).
void MaskTopP(std::vector<float>& probs, float p);
void MaskMinP(std::vector<float>& probs, float min_p);
// The greedy choice: largest value, lowest index on ties.
int32_t ArgMax(const std::vector<float>& values);

// One sequence's sampler: owns its random stream so sequences batched together stay reproducible alone.
class TokenSampler {
 public:
  explicit TokenSampler(const SamplingOptions& options) : options_(options), rng_(options.seed) {}

  // `logits` is one vocabulary row (changed in place); `history` the sequence's tokens so far.
  int32_t Sample(std::vector<float>& logits, const std::vector<int32_t>& history);

  const SamplingOptions& options() const { return options_; }

 private:
  SamplingOptions options_;
  std::mt19937_64 rng_;
};

}  // namespace tessera::generate
