// Normalizers of tokenizer.json ("normalizer"): text → text before pre-tokenization. NFC/NFD/NFKC/NFKD
// and Lowercase use ICU; Replace takes a literal or a regex; BertNormalizer is BERT's cleaning.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "generate/tokenizer/json_fields.h"

namespace tessera::generate {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // `text` is valid UTF-8; the result is too.
  virtual std::string Normalize(std::string_view text) const = 0;
};

// Builds the normalizer described by `config` (null gives nullptr: no normalization). `where` names the
// field for errors; an unknown "type" is an Unimplemented error naming it.
StatusOr<std::unique_ptr<Normalizer>> MakeNormalizer(const Json& config, const std::string& where);

class TextRegex;
// A "pattern" object as Replace and Split write it: {"String": literal} or {"Regex": pattern}.
StatusOr<std::shared_ptr<const TextRegex>> MakePattern(const Json& config, const std::string& where);

}  // namespace tessera::generate
