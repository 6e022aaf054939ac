// The Unigram model (SentencePiece's, as T5 and XLM-R use it): the segmentation of a word that maximises
// the sum of its pieces' log-probabilities, found by Viterbi over every vocabulary piece that starts at
// each character. A character no piece covers becomes the unknown token, scored min(score) - 10 as
// Hugging Face does, and consecutive unknowns fuse into one.
#pragma once

#include "generate/tokenizer/tokenizer_model.h"

namespace tessera::generate {

class UnigramModel : public TokenizerModel {
 public:
  // `pieces` in id order with their scores; `unk_id` indexes them.
  static StatusOr<std::unique_ptr<UnigramModel>> Create(std::vector<std::pair<std::string, double>> pieces,
                                                        std::optional<int32_t> unk_id, bool byte_fallback,
                                                        const std::string& where);

  void Encode(std::string_view word, std::vector<int32_t>& ids) const override;
  const Vocabulary& vocabulary() const override { return vocabulary_; }
  std::optional<int32_t> unk_id() const override { return unk_id_; }

 private:
  UnigramModel() = default;
  Vocabulary vocabulary_;
  std::vector<double> scores_;
  std::optional<int32_t> unk_id_;
  double unk_score_ = 0;
  size_t max_piece_chars_ = 1;
  bool byte_fallback_ = false;
  int32_t byte_ids_[256];
};

StatusOr<std::unique_ptr<TokenizerModel>> MakeUnigramModel(const Json& config, const std::string& where);

}  // namespace tessera::generate
