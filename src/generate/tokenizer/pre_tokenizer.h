// Pre-tokenizers of tokenizer.json ("pre_tokenizer"): split normalized text into the words the model
// encodes one by one. Split behaviours follow the Rust `tokenizers` crate (SplitDelimiterBehavior).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "generate/tokenizer/json_fields.h"

namespace tessera::generate {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Appends the words of `text` (valid UTF-8) to `out`. `first_section` is true for the text before the
  // first added token (Metaspace's prepend_scheme "first" prepends only there).
  virtual void PreTokenize(std::string_view text, bool first_section, std::vector<std::string>& out) const = 0;
};

// null gives nullptr (the whole section is one word). Unknown types are an Unimplemented error.
StatusOr<std::unique_ptr<PreTokenizer>> MakePreTokenizer(const Json& config, const std::string& where);

// How a split keeps the delimiters it found (the Rust crate's names).
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// Cuts `text` at `matches` (sorted, non-overlapping byte ranges) and appends the non-empty pieces.
void SplitByMatches(std::string_view text, const std::vector<std::pair<size_t, size_t>>& matches, bool invert,
                    SplitBehavior behavior, std::vector<std::string>& out);

}  // namespace tessera::generate
