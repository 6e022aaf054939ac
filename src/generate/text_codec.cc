// LoadTextCodec: the model folder's tokenizer.json (and tokenizer_config.json) through Tokenizer.
#include "generate/text_codec.h"

#include <filesystem>

#include "generate/tokenizer/tokenizer.h"

namespace tessera::generate {
namespace {

class TokenizerCodec : public TextCodec {
 public:
  explicit TokenizerCodec(std::unique_ptr<Tokenizer> tokenizer) : tokenizer_(std::move(tokenizer)) {}
  StatusOr<std::vector<TokenId>> Encode(const std::string& text) const override {
    return tokenizer_->Encode(text, /*add_special_tokens=*/true);
  }
  // A rendered chat template already holds its special tokens (BOS included), as transformers'
  // apply_chat_template encodes it.
  StatusOr<std::vector<TokenId>> EncodeWithoutSpecialTokens(const std::string& text) const override {
    return tokenizer_->Encode(text, /*add_special_tokens=*/false);
  }
  // Without clean_up_tokenization_spaces: it rewrites text already streamed (" n" + "'t" → "n't"), which a
  // stream cannot take back; OpenAI-style servers leave generated text as the tokens spell it.
  StatusOr<std::string> Decode(const std::vector<TokenId>& ids) const override {
    return tokenizer_->Decode(ids, /*skip_special_tokens=*/true, /*clean_up_spaces=*/false);
  }

 private:
  std::unique_ptr<Tokenizer> tokenizer_;
};

}  // namespace

StatusOr<std::unique_ptr<TextCodec>> LoadTextCodec(const std::string& folder) {
  const std::filesystem::path dir(folder);
  const std::string json_path = (dir / "tokenizer.json").string();
  std::error_code error;
  if (!std::filesystem::is_regular_file(json_path, error)) {
    return NotFound("the model in '" + folder + "' has no tokenizer.json, so text cannot be encoded for it; pass "
                    "token ids with --prompt-ids 1,2,3");
  }
  const std::string config_path = (dir / "tokenizer_config.json").string();
  auto tokenizer =
      Tokenizer::Load(json_path, std::filesystem::is_regular_file(config_path, error) ? config_path : "");
  if (!tokenizer.ok()) return tokenizer.status();
  return std::unique_ptr<TextCodec>(new TokenizerCodec(std::move(tokenizer).value()));
}

}  // namespace tessera::generate
