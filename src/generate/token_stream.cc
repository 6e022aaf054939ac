// TokenStream (token_stream.h): stop conditions and the streamable part of the decoded text.
#include "generate/token_stream.h"

#include <algorithm>
#include <string_view>

namespace tessera::generate {

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

// Where `text` ends before its trailing U+FFFD characters: a character whose bytes are still arriving decodes
// as U+FFFD and becomes itself with the next token, so it is held back until it is no longer last.
size_t BeforeTrailingReplacements(const std::string& text, size_t end) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  while (end >= kReplacement.size() &&
         text.compare(end - kReplacement.size(), kReplacement.size(), kReplacement) == 0) {
    end -= kReplacement.size();
  }
  return end;
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

TokenStream::TokenStream(const GenerationRequest& request, const std::vector<TokenId>& eos, const TextCodec* codec)
    : request_(request), codec_(codec), stops_(request.stop_tokens) {
  if (request.stop_at_eos) stops_.insert(stops_.end(), eos.begin(), eos.end());
}

StatusOr<bool> TokenStream::Add(TokenId token, std::string& new_text) {
  new_text.clear();
  result_.tokens.push_back(token);  // a stop token is kept in tokens, as Hugging Face does; not in text
  if (std::find(stops_.begin(), stops_.end(), token) != stops_.end()) {
    result_.stop_reason = StopReason::kStopToken;
    return true;
  }
  if (!codec_) return false;
  TS_ASSIGN_OR_RETURN(result_.text, codec_->Decode(result_.tokens));
  const size_t stop_at = FindStopString(result_.text, request_.stop_strings);
  if (stop_at != std::string::npos) {
    result_.text.resize(stop_at);
    result_.stop_reason = StopReason::kStopString;
    new_text = Unstreamed(result_.text, streamed_, result_.text.size());
    return true;
  }
  const size_t end = SafeToStream(result_.text, request_.stop_strings);
  new_text = Unstreamed(result_.text, streamed_, BeforeTrailingReplacements(result_.text, end));
  return false;
}

std::string TokenStream::Flush() {
  if (!codec_ || result_.stop_reason == StopReason::kStopString) return "";
  return Unstreamed(result_.text, streamed_, result_.text.size());
}

}  // namespace tessera::generate
