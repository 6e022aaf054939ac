// LoadTextCodec: the tokenizer module is not linked in yet, so there is never a codec.
#include "generate/text_codec.h"

namespace tessera::generate {

StatusOr<std::unique_ptr<TextCodec>> LoadTextCodec(const std::string& folder) {
  return NotFound("no tokenizer support is built in yet, so text cannot be encoded for the model in '" + folder +
                  "'; pass token ids with --prompt-ids 1,2,3");
}

}  // namespace tessera::generate
