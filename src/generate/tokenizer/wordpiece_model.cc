#include "generate/tokenizer/wordpiece_model.h"

#include "generate/tokenizer/utf8.h"

namespace tessera::generate {

StatusOr<std::unique_ptr<WordPieceModel>> WordPieceModel::Create(Vocabulary vocabulary, const std::string& unk_token,
                                                                 std::string continuing_subword_prefix,
                                                                 size_t max_input_chars_per_word,
                                                                 const std::string& where) {
  std::unique_ptr<WordPieceModel> model(new WordPieceModel());
  auto unk = vocabulary.Find(unk_token);
  // Every word that does not split into pieces needs the unknown token.
  if (!unk) return JsonFieldError(JsonChild(where, "unk_token"), "'" + unk_token + "' is not in model.vocab");
  model->vocabulary_ = std::move(vocabulary);
  model->unk_id_ = *unk;
  model->prefix_ = std::move(continuing_subword_prefix);
  model->max_chars_ = max_input_chars_per_word;
  return model;
}

void WordPieceModel::Encode(std::string_view word, std::vector<int32_t>& ids) const {
  if (word.empty()) return;
  const std::vector<size_t> offsets = CodePointOffsets(word);
  const size_t chars = offsets.size() - 1;
  if (chars > max_chars_) {
    ids.push_back(unk_id_);
    return;
  }
  std::vector<int32_t> pieces;
  std::string candidate;
  for (size_t start = 0; start < chars;) {
    size_t end = chars;
    std::optional<int32_t> found;
    for (; end > start; --end) {
      candidate.assign(start > 0 ? prefix_ : std::string());
      candidate.append(word.substr(offsets[start], offsets[end] - offsets[start]));
      if ((found = vocabulary_.Find(candidate))) break;
    }
    if (!found) {
      ids.push_back(unk_id_);
      return;
    }
    pieces.push_back(*found);
    start = end;
  }
  ids.insert(ids.end(), pieces.begin(), pieces.end());
}

StatusOr<std::unique_ptr<TokenizerModel>> MakeWordPieceModel(const Json& config, const std::string& where) {
  TS_ASSIGN_OR_RETURN(Vocabulary vocabulary, ReadVocabularyObject(config, where));
  TS_ASSIGN_OR_RETURN(std::string unk, JsonStringOr(config, "unk_token", where, "[UNK]"));
  TS_ASSIGN_OR_RETURN(std::string prefix, JsonStringOr(config, "continuing_subword_prefix", where, "##"));
  TS_ASSIGN_OR_RETURN(int64_t max_chars, JsonIntOr(config, "max_input_chars_per_word", where, 100));
  if (max_chars < 0) return JsonFieldError(JsonChild(where, "max_input_chars_per_word"), "must not be negative");
  TS_ASSIGN_OR_RETURN(auto model, WordPieceModel::Create(std::move(vocabulary), unk, std::move(prefix),
                                                         static_cast<size_t>(max_chars), where));
  return std::unique_ptr<TokenizerModel>(std::move(model));
}

}  // namespace tessera::generate
