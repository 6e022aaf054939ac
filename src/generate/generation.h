// The generation loop for one prompt: prefill, then decode token by token until a stop condition.
//
// Stops, first that holds: a stop token (the model's eos_token_id by default, from generation_config.json or
// config.json; the stop token is kept in `tokens`, not in `text`), a stop string found in the decoded text
// (needs a TextCodec; the text is cut before it), or max_new_tokens.
// Context length: a prompt plus max_new_tokens beyond the model's context (max_position_embeddings or
// the like) is refused before anything runs, with an error giving the numbers; generation never runs the
// model past the positions it was trained for, and never stops short of max_new_tokens silently.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "generate/decoder_model.h"
#include "generate/sampling.h"
#include "generate/text_codec.h"

namespace tessera::generate {

struct GenerationRequest {
  std::vector<TokenId> prompt;
  int64_t max_new_tokens = 64;
  SamplingOptions sampling;
  bool stop_at_eos = true;                // the model's eos_token_id(s) stop generation
  std::vector<TokenId> stop_tokens;       // more stop tokens
  std::vector<std::string> stop_strings;  // needs a codec
};

// kCancelled: the caller gave up on the sequence before it ended (the scheduler, scheduler.h).
enum class StopReason { kMaxNewTokens, kStopToken, kStopString, kCancelled };
const char* StopReasonName(StopReason reason);  // "length", "stop_token", "stop_string", "cancelled"

struct GenerationResult {
  std::vector<TokenId> tokens;  // generated ids, prompt excluded
  std::string text;             // their text (empty without a codec)
  StopReason stop_reason = StopReason::kMaxNewTokens;
  double prefill_ms = 0;            // the prompt step and the first token's sampling
  double decode_ms_per_token = 0;   // mean over the later tokens (0 when there is one token)
};

// Called with each token as soon as it is chosen, and the text it adds: empty without a codec, while a
// character is incomplete, or while the text ends in what may begin a stop string (held back so a stop
// string is never streamed). Held-back text that turns out not to stop comes with the last token: each
// token is passed once.
using TokenCallback = std::function<void(TokenId token, const std::string& new_text)>;

// Checks the request against the model before anything runs: an empty prompt, ids outside the vocabulary
// (when the graph declares it), the context length, sampling ranges, stop strings without a codec. Every
// error is the request's fault (a command line or an HTTP 400), not the model's.
Status ValidateGenerationRequest(const DecoderModel& model, const GenerationRequest& request, const TextCodec* codec);

// Validates the request as above, then runs it. `codec` may be null.
StatusOr<GenerationResult> Generate(DecoderModel& model, const GenerationRequest& request, const TextCodec* codec,
                                    const TokenCallback& on_token);

}  // namespace tessera::generate
