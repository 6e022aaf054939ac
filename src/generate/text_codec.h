// Text <-> token ids, as generation needs it: the seam where a tokenizer plugs in.
//
// The generation runtime only needs these calls; the tokenizer module (tokenizer/) implements them over
// its Tokenizer::Encode(text, add_special_tokens) and Decode(ids, skip_special_tokens).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "generate/sequence.h"
#include "tessera/status.h"

namespace tessera::generate {

class TextCodec {
 public:
  virtual ~TextCodec() = default;
  // The prompt's ids, with the special tokens (e.g. BOS) the model's tokenizer config adds.
  virtual StatusOr<std::vector<TokenId>> Encode(const std::string& text) const = 0;
  // The ids of `text` alone, no special tokens added: for a prompt rendered by a chat template, which
  // writes them itself (transformers' apply_chat_template encodes with add_special_tokens=False). The
  // default is Encode, right only for a codec that adds none; a tokenizer that adds BOS overrides it.
  virtual StatusOr<std::vector<TokenId>> EncodeWithoutSpecialTokens(const std::string& text) const {
    return Encode(text);
  }
  // The text of `ids`, special tokens skipped. A prefix of ids may end inside a character; callers that
  // stream compare successive decodings rather than decode token by token.
  virtual StatusOr<std::string> Decode(const std::vector<TokenId>& ids) const = 0;
};

// The tokenizer stored with the model in `folder` (tokenizer.json and its config). NotFound when there is
// none, or while no tokenizer implementation is linked in: text prompts then need --prompt-ids.
StatusOr<std::unique_ptr<TextCodec>> LoadTextCodec(const std::string& folder);

}  // namespace tessera::generate
