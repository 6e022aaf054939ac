// The WordPiece model (BERT's): each word becomes its longest vocabulary prefix, then the longest
// "##"-prefixed piece of the rest, and so on; a word with a part no piece covers, or longer than
// max_input_chars_per_word characters, becomes the unknown token as a whole.
#pragma once

#include "generate/tokenizer/tokenizer_model.h"

namespace tessera::generate {

class WordPieceModel : public TokenizerModel {
 public:
  static StatusOr<std::unique_ptr<WordPieceModel>> Create(Vocabulary vocabulary, const std::string& unk_token,
                                                          std::string continuing_subword_prefix,
                                                          size_t max_input_chars_per_word, const std::string& where);

  void Encode(std::string_view word, std::vector<int32_t>& ids) const override;
  const Vocabulary& vocabulary() const override { return vocabulary_; }
  std::optional<int32_t> unk_id() const override { return unk_id_; }

 private:
  WordPieceModel() = default;
  Vocabulary vocabulary_;
  int32_t unk_id_ = 0;
  std::string prefix_;
  size_t max_chars_ = 100;
};

StatusOr<std::unique_ptr<TokenizerModel>> MakeWordPieceModel(const Json& config, const std::string& where);

}  // namespace tessera::generate
