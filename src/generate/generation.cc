// The generation loop (generation.h).
#include "generate/generation.h"

#include <algorithm>
#include <chrono>

#include "generate/token_stream.h"

namespace tessera::generate {

namespace {

using Clock = std::chrono::steady_clock;

double MillisecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

Status ValidateGenerationRequest(const DecoderModel& model, const GenerationRequest& r, const TextCodec* codec) {
  const std::string in_model = "model '" + model.model_name() + "'";
  if (r.prompt.empty()) return InvalidArgument("the prompt is empty; give at least one token");
  if (r.max_new_tokens < 1) return InvalidArgument("max new tokens must be at least 1");
  const int64_t vocab = model.signature().vocab_size;
  for (TokenId t : r.prompt) {
    if (t < 0 || (vocab > 0 && t >= vocab)) {
      return InvalidArgument("prompt token " + std::to_string(t) + " is outside the vocabulary of " + in_model +
                             (vocab > 0 ? " (" + std::to_string(vocab) + " tokens)" : std::string()));
    }
  }
  const int64_t context = model.defaults().context_length;
  const int64_t needed = static_cast<int64_t>(r.prompt.size()) + r.max_new_tokens;
  if (context > 0 && needed > context) {
    return InvalidArgument("the prompt (" + std::to_string(r.prompt.size()) + " tokens) plus " +
                           std::to_string(r.max_new_tokens) + " new tokens exceeds the context of " + in_model +
                           " (" + std::to_string(context) + " positions); ask for at most " +
                           std::to_string(std::max<int64_t>(0, context - static_cast<int64_t>(r.prompt.size()))) +
                           " new tokens");
  }
  if (!r.stop_strings.empty() && !codec) {
    return InvalidArgument("stop strings need a tokenizer, and none was found for " + in_model);
  }
  return ValidateSamplingOptions(r.sampling);
}

const char* StopReasonName(StopReason reason) {
  switch (reason) {
    case StopReason::kStopToken: return "stop_token";
    case StopReason::kStopString: return "stop_string";
    case StopReason::kCancelled: return "cancelled";
    default: return "length";
  }
}

StatusOr<GenerationResult> Generate(DecoderModel& model, const GenerationRequest& request, const TextCodec* codec,
                                    const TokenCallback& on_token) {
  TS_RETURN_IF_ERROR(ValidateGenerationRequest(model, request, codec));
  Sequence seq;
  seq.tokens = request.prompt;
  TokenSampler sampler(request.sampling);
  TokenStream stream(request, model.defaults().eos_token_ids, codec);
  double prefill_ms = 0, decode_ms = 0;
  std::string new_text;
  bool stopped = false;
  for (int64_t n = 0; n < request.max_new_tokens && !stopped; ++n) {
    const Clock::time_point start = Clock::now();
    TS_ASSIGN_OR_RETURN(std::vector<std::vector<float>> logits, model.Step({&seq}));
    const TokenId token = sampler.Sample(logits[0], seq.tokens);
    (n == 0 ? prefill_ms : decode_ms) += MillisecondsSince(start);
    seq.tokens.push_back(token);
    TS_ASSIGN_OR_RETURN(stopped, stream.Add(token, new_text));
    // Text still held back (a stop string that never came, an incomplete character) goes with the last token.
    if (stopped || n + 1 == request.max_new_tokens) new_text += stream.Flush();
    if (on_token) on_token(token, new_text);
  }
  GenerationResult result = std::move(stream.result());
  result.prefill_ms = prefill_ms;
  const size_t decoded = result.tokens.size() > 1 ? result.tokens.size() - 1 : 0;
  result.decode_ms_per_token = decoded ? decode_ms / static_cast<double>(decoded) : 0;
  return result;
}

}  // namespace tessera::generate
