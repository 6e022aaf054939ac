// The "added_tokens" of tokenizer.json: strings (special like <|eot_id|> or not) that bypass the model.
// Encoding cuts the text on them first, longest match leftmost, as the Hugging Face tokenizers do; the
// pieces between them go through normalizer, pre-tokenizer and model.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "generate/tokenizer/json_fields.h"

namespace tessera::generate {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false;
  bool single_word = false;  // only matches with no word character on either side
  bool lstrip = false;       // swallows the whitespace on its left
  bool rstrip = false;       // swallows the whitespace on its right
  bool normalized = true;    // matched in the normalized text rather than the raw one
};

// Reads the "added_tokens" array (null or absent gives none). Errors name the entry and field.
StatusOr<std::vector<AddedToken>> ParseAddedTokens(const Json& config, const std::string& where);

// One piece of a cut text: either an added token or the text between two of them.
struct TextSection {
  std::string text;
  const AddedToken* token = nullptr;  // set when the piece is an added token
};

// Finds added tokens in text by longest match at each position (a byte trie over their contents).
class AddedTokenSplitter {
 public:
  // `tokens` must outlive the splitter.
  explicit AddedTokenSplitter(const std::vector<const AddedToken*>& tokens);

  // Cuts `text` into sections. A match is skipped when its token is single_word and a word character
  // touches it; lstrip / rstrip tokens then trim the whitespace of their neighbours.
  std::vector<TextSection> Split(std::string_view text) const;

  bool empty() const { return nodes_.size() == 1; }

 private:
  struct Node {
    std::unordered_map<unsigned char, int32_t> next;
    const AddedToken* token = nullptr;
  };
  // The longest token starting at text[pos] that may match there, or nullptr.
  const AddedToken* LongestMatch(std::string_view text, size_t pos) const;
  std::vector<Node> nodes_{1};
};

}  // namespace tessera::generate
