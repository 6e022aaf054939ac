// One model step over several sequences: building the feeds and taking the results apart.
//
// Rows of a step all run the same number of pending tokens. Their caches may differ in length: a batched
// step left-pads each KV cache to the longest (the padding is masked out by attention_mask and skipped by
// position_ids, which count real tokens only), and afterwards copies each row's part of the new cache
// back out without the padding. A step of one row feeds its cache tensors as they are and keeps the
// model's present outputs as the next past: no copy by the runtime at all (the graph's own Concat still
// copies the whole past once per layer and token; see docs in decoder_model.h).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "generate/decoder_signature.h"
#include "generate/sequence.h"

namespace tessera::generate {

struct StepFeeds {
  std::vector<std::pair<std::string, Tensor>> feeds;
  int64_t pending = 0;            // tokens per row
  int64_t max_past = 0;           // cache length after padding
  std::vector<int64_t> past;      // each row's real cache length
};

// `rows` all have the same pending() > 0. `model_name` prefixes errors.
StatusOr<StepFeeds> BuildStepFeeds(const std::string& model_name, const DecoderSignature& sig,
                                   const std::vector<Sequence*>& rows);

// Stores each row's new cache from `outputs` (in `output_names` order) and returns each row's logits at
// its last position, as float32. Checks the outputs' shapes against what the step fed.
StatusOr<std::vector<std::vector<float>>> TakeStepResults(const std::string& model_name, const DecoderSignature& sig,
                                                          const StepFeeds& step,
                                                          const std::vector<std::string>& output_names,
                                                          std::vector<Tensor>& outputs,
                                                          const std::vector<Sequence*>& rows);

}  // namespace tessera::generate
