// The generation loop (generation.h).
#include "generate/generation.h"

#include <algorithm>
#include <chrono>

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

namespace {

// The earliest position of any stop string in `text`, or npos.
size_t FindStopString(const std::string& text, const std::vector<std::string>& stops) {
  size_t first = std::string::npos;
  for (const std::string& s : stops) {
    if (!s.empty()) first = std::min(first, text.find(s));
  }
  return first;
}

// How much of `text` may be streamed: all but its longest tail that could begin a stop string.
size_t SafeToStream(const std::string& text, const std::vector<std::string>& stops) {
  size_t hold = 0;
  for (const std::string& s : stops) {
    for (size_t k = std::min(s.size() - (s.empty() ? 0 : 1), text.size()); k > hold; --k) {
      if (text.compare(text.size() - k, k, s, 0, k) == 0) {
        hold = k;
        break;
      }
    }
  }
  return text.size() - hold;
}

// The part of text[0, end) not yet in `streamed`, which is then extended to it. Text that does not extend
// what was streamed (a character still incomplete, so decoded as a replacement) waits for the next token.
std::string Unstreamed(const std::string& text, std::string& streamed, size_t end) {
  if (end <= streamed.size() || text.compare(0, streamed.size(), streamed) != 0) return "";
  std::string added = text.substr(streamed.size(), end - streamed.size());
  streamed = text.substr(0, end);
  return added;
}

}  // namespace

const char* StopReasonName(StopReason reason) {
  switch (reason) {
    case StopReason::kStopToken: return "stop_token";
    case StopReason::kStopString: return "stop_string";
    default: return "length";
  }
}

StatusOr<GenerationResult> Generate(DecoderModel& model, const GenerationRequest& request, const TextCodec* codec,
                                    const TokenCallback& on_token) {
  TS_RETURN_IF_ERROR(ValidateGenerationRequest(model, request, codec));
  std::vector<TokenId> stops = request.stop_tokens;
  if (request.stop_at_eos) {
    stops.insert(stops.end(), model.defaults().eos_token_ids.begin(), model.defaults().eos_token_ids.end());
  }
  Sequence seq;
  seq.tokens = request.prompt;
  TokenSampler sampler(request.sampling);
  GenerationResult result;
  std::string streamed;  // text already handed to on_token
  double decode_ms = 0;
  for (int64_t n = 0; n < request.max_new_tokens; ++n) {
    const Clock::time_point start = Clock::now();
    TS_ASSIGN_OR_RETURN(std::vector<std::vector<float>> logits, model.Step({&seq}));
    const TokenId token = sampler.Sample(logits[0], seq.tokens);
    (n == 0 ? result.prefill_ms : decode_ms) += MillisecondsSince(start);
    seq.tokens.push_back(token);
    const bool is_stop = std::find(stops.begin(), stops.end(), token) != stops.end();
    if (!is_stop) result.tokens.push_back(token);
    std::string new_text;
    if (codec && !is_stop) {
      TS_ASSIGN_OR_RETURN(result.text, codec->Decode(result.tokens));
      const size_t stop_at = FindStopString(result.text, request.stop_strings);
      if (stop_at != std::string::npos) {
        result.text.resize(stop_at);
        result.stop_reason = StopReason::kStopString;
        if (on_token) on_token(token, Unstreamed(result.text, streamed, result.text.size()));
        break;
      }
      new_text = Unstreamed(result.text, streamed, SafeToStream(result.text, request.stop_strings));
    }
    if (is_stop) {
      result.tokens.push_back(token);  // kept in tokens, as Hugging Face does; not in text
      result.stop_reason = StopReason::kStopToken;
      if (on_token) on_token(token, "");
      break;
    }
    if (on_token) on_token(token, new_text);
  }
  if (codec && on_token && result.stop_reason != StopReason::kStopString) {
    const std::string rest = Unstreamed(result.text, streamed, result.text.size());
    if (!rest.empty()) on_token(result.tokens.back(), rest);  // text held back for a stop string that never came
  }
  const size_t decoded = result.tokens.size() > 1 ? result.tokens.size() - 1 : 0;
  result.decode_ms_per_token = decoded ? decode_ms / static_cast<double>(decoded) : 0;
  return result;
}

}  // namespace tessera::generate
