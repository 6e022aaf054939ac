#include "generate/tokenizer/tokenizer_model.h"

#include "generate/tokenizer/bpe_model.h"
#include "generate/tokenizer/unigram_model.h"
#include "generate/tokenizer/wordpiece_model.h"

namespace tessera::generate {

StatusOr<std::unique_ptr<TokenizerModel>> MakeTokenizerModel(const Json& config, const std::string& where) {
  if (!config.is_object()) return JsonFieldError(where, "expected an object");
  // Older files leave "type" out; a BPE model is then the one with merges.
  std::string type;
  if (config.contains("type")) {
    TS_ASSIGN_OR_RETURN(type, JsonString(config, "type", where));
  } else {
    type = config.contains("merges") ? "BPE" : "";
  }
  if (type == "BPE") return MakeBpeModel(config, where);
  if (type == "Unigram") return MakeUnigramModel(config, where);
  if (type == "WordPiece") return MakeWordPieceModel(config, where);
  return Unimplemented(where + ".type '" + type + "' is not supported (supported: BPE, Unigram, WordPiece)");
}

StatusOr<Vocabulary> ReadVocabularyObject(const Json& config, const std::string& where) {
  TS_ASSIGN_OR_RETURN(const Json* vocab_json, JsonMember(config, "vocab", where));
  const std::string vocab_where = JsonChild(where, "vocab");
  if (!vocab_json->is_object()) return JsonFieldError(vocab_where, "expected an object of token: id");
  Vocabulary vocabulary;
  for (auto it = vocab_json->begin(); it != vocab_json->end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 || it.value().get<int64_t>() > INT32_MAX) {
      return JsonFieldError(JsonChild(vocab_where, it.key()), "expected a non-negative 32-bit id");
    }
    vocabulary.Set(it.key(), it.value().get<int32_t>());
  }
  return vocabulary;
}

}  // namespace tessera::generate
