// Which graph inputs carry a decoder's state from one step to the next, and which output replaces each.
//
// The pairing rule, for a graph input P that is not one of the decoder's known inputs (ids, mask,
// positions, ...), tried in order; the first candidate that names a graph output not yet paired wins:
//   1. explicit templates (genai_config.json, or --past-names/--present-names): "past_key_values.%d.key"
//      pairs with "present.%d.key" for %d = 0, 1, ... as long as the past name is a graph input;
//   2. P with its leading "past_key_values" replaced by "present" and by "present_key_values"
//      (Optimum and transformers.js: past_key_values.3.value -> present.3.value);
//   3. P with its leading "past" replaced by "present" (past.0.key -> present.0.key,
//      past_conv.2 -> present_conv.2, past_ssm_state.0 -> present_ssm_state.0);
//   4. "present_" + P, "present." + P and P + "_out" (hybrid models naming states conv_state.1, ...).
// An input that pairs with nothing, or a "present*" output that no input pairs with, is an error naming
// that value: a state the runtime cannot feed back would silently reset every step.
//
// What a pair holds follows from the input's declared dims: axis 0 is the batch; a slot with one unknown
// dim past the batch is a KV cache growing along that axis (on rank 4 with several unknown dims, axis 2,
// the [batch, heads, sequence, head_dim] layout); a slot whose other dims are all fixed is a fixed-size
// recurrent or convolution state, fed back whole.
#pragma once

#include <string>
#include <vector>

#include "tessera/session.h"

namespace tessera::generate {

struct CacheSlot {
  std::string past_input;      // graph input fed with the cache before a step
  std::string present_output;  // graph output holding the cache after the step
  DType dtype = DType::kUndefined;
  bool grows = false;          // a KV cache (grows along seq_axis) rather than a fixed-size state
  int64_t seq_axis = -1;       // the growing axis; -1 for a fixed-size state
  Shape dims;                  // the input's declared dims, -1 where unknown (batch, sequence)
};

// Templates with one "%d" each, past[i] pairing with present[i]; both lists the same length.
struct CacheNameTemplates {
  std::vector<std::string> past;
  std::vector<std::string> present;
};

// The rule-2..4 candidates for `past_input`, in the order they are tried.
std::vector<std::string> PresentNameCandidates(const std::string& past_input);

// Pairs every input in `cache_inputs` with an output of `outputs` (see the rule above). `model_name`
// prefixes errors. `reserved_outputs` (the logits) never pair.
StatusOr<std::vector<CacheSlot>> PairCacheValues(const std::string& model_name,
                                                 const std::vector<TensorInfo>& cache_inputs,
                                                 const std::vector<TensorInfo>& outputs,
                                                 const std::vector<std::string>& reserved_outputs,
                                                 const CacheNameTemplates& templates);

// "past_key_values.%d.key" with 3 -> "past_key_values.3.key".
std::string ExpandLayerTemplate(const std::string& name_template, int layer);

}  // namespace tessera::generate
