// What one sequence has generated so far, and whether it must stop: stop tokens, stop strings and the text
// that may be streamed. The generation loop (generation.h) and the scheduler (scheduler.h) both feed it
// one chosen token at a time, so a sequence stops and streams the same way whichever of them runs it.
//
// Text rules (needs a codec): the generated ids are decoded afresh after each token; a stop string found in
// the text cuts it there and stops; otherwise the text is streamed except a tail that could begin a stop
// string, which is held back until it can no longer, and trailing U+FFFD, which may be a character whose
// bytes are still arriving (Flush hands over what is left at the end). A stop
// token is kept in the ids, never in the text.
#pragma once

#include <string>
#include <vector>

#include "generate/generation.h"

namespace tessera::generate {

class TokenStream {
 public:
  // `eos` are the model's end tokens, used when request.stop_at_eos. `codec` may be null and must outlive
  // the stream, as must `request`.
  TokenStream(const GenerationRequest& request, const std::vector<TokenId>& eos, const TextCodec* codec);

  // Takes the token just chosen. Sets `new_text` to the text it adds for streaming and returns whether
  // generation stops here (a stop token or string; max_new_tokens is the caller's count).
  StatusOr<bool> Add(TokenId token, std::string& new_text);
  // Text still held back once generation has ended without a stop string (empty otherwise).
  std::string Flush();

  const GenerationResult& result() const { return result_; }
  GenerationResult& result() { return result_; }

 private:
  const GenerationRequest& request_;
  const TextCodec* codec_;
  std::vector<TokenId> stops_;
  std::string streamed_;  // text already handed out
  GenerationResult result_;
};

}  // namespace tessera::generate
