// Tokenizer: a Hugging Face tokenizer.json (plus its tokenizer_config.json) as one object.
//
// Encode runs the file's pipeline: cut the text on added tokens (longest match), normalize the rest, cut
// again on normalized added tokens, pre-tokenize, run the model (BPE / Unigram) per word, then let the
// post-processor add special tokens. Decode maps ids to token strings, drops special ones when asked,
// and runs the decoder chain. The behaviour follows the Hugging Face libraries; where the Rust crate and
// tokenizers.js differ, tokenizers.js (the parity test's reference) is followed.
//
// A Tokenizer is immutable after Load and safe to use from several threads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "generate/tokenizer/added_tokens.h"
#include "generate/tokenizer/decoder.h"
#include "generate/tokenizer/normalizer.h"
#include "generate/tokenizer/post_processor.h"
#include "generate/tokenizer/pre_tokenizer.h"
#include "generate/tokenizer/tokenizer_model.h"

namespace tessera::generate {

class Tokenizer {
 public:
  // Reads tokenizer.json at `json_path` and, when `config_path` is not empty, tokenizer_config.json.
  // NotFound when json_path does not exist; InvalidArgument / Unimplemented naming the file and field
  // for anything malformed or unsupported.
  static StatusOr<std::unique_ptr<Tokenizer>> Load(const std::string& json_path, const std::string& config_path = "");
  // The same from the files' contents (config_text may be empty); the names label errors.
  static StatusOr<std::unique_ptr<Tokenizer>> FromJson(std::string_view json_text, std::string_view config_text,
                                                       const std::string& name = "tokenizer.json",
                                                       const std::string& config_name = "tokenizer_config.json");

  // Ids of `text` (invalid UTF-8 is read as U+FFFD). With add_special_tokens the post-processor's
  // tokens are added, and BOS / EOS when tokenizer_config.json asks for them and the post-processor
  // did not add them.
  std::vector<int32_t> Encode(std::string_view text, bool add_special_tokens) const;
  // Text of `ids`; InvalidArgument naming the first id that no token has. `clean_up_spaces` overrides
  // tokenizer_config.json's clean_up_tokenization_spaces (" ." → "." and the like).
  StatusOr<std::string> Decode(const std::vector<int32_t>& ids, bool skip_special_tokens,
                               std::optional<bool> clean_up_spaces = std::nullopt) const;

  // The number of ids: one more than the largest id of the model or an added token.
  size_t vocab_size() const { return id_to_token_.size(); }
  std::optional<int32_t> TokenToId(std::string_view token) const;

 private:
  Tokenizer() = default;
  Status Configure(const Json& tokenizer, const Json& config, const std::string& name,
                   const std::string& config_name);
  // Fills id_to_token_ from the model and the added tokens; returns token → id over both.
  Vocabulary IndexIds();
  void BuildAddedTokenSplitters();
  // tokenizer_config.json: clean_up_tokenization_spaces, add_bos_token / add_eos_token, extra specials.
  Status ReadConfig(const Json& config, const Vocabulary& with_added, const std::string& name,
                    const std::string& config_name);
  // Added-token, normalizer and model stages of one section between raw added tokens.
  void EncodeSection(const std::string& text, bool first_section, std::vector<int32_t>& ids) const;
  void EncodeWords(const std::string& text, bool first_section, std::vector<int32_t>& ids) const;

  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<TokenizerModel> model_;
  std::unique_ptr<PostProcessor> post_processor_;
  std::unique_ptr<Decoder> decoder_;

  std::vector<AddedToken> added_tokens_;
  std::unordered_map<std::string, const AddedToken*> added_by_text_;  // contents, and normalized contents
  std::unordered_set<std::string> added_contents_;
  std::unordered_set<std::string> special_contents_;
  std::unique_ptr<AddedTokenSplitter> raw_splitter_;         // tokens matched before normalization
  std::unique_ptr<AddedTokenSplitter> normalized_splitter_;  // tokens matched after it
  std::vector<std::string> normalized_contents_;            // storage the normalized splitter points into
  std::vector<AddedToken> normalized_tokens_;

  std::vector<std::string> id_to_token_;  // model vocabulary with added tokens over it; "" for gaps
  std::vector<bool> id_known_;

  std::optional<int32_t> config_bos_id_, config_eos_id_;  // from add_bos_token / add_eos_token
  bool clean_up_tokenization_spaces_ = false;
};

}  // namespace tessera::generate
