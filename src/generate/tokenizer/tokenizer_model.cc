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

}  // namespace tessera::generate
