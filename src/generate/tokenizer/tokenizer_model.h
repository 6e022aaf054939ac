// The "model" of tokenizer.json: turns one pre-tokenized word into ids. BPE, Unigram and WordPiece implement it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "generate/tokenizer/json_fields.h"

namespace tessera::generate {

// Token strings ⇄ ids, shared by the models. Ids need not be dense; a gap has an empty string.
struct Vocabulary {
  std::unordered_map<std::string, int32_t> token_to_id;
  std::vector<std::string> id_to_token;

  std::optional<int32_t> Find(std::string_view token) const {
    auto it = token_to_id.find(std::string(token));
    if (it == token_to_id.end()) return std::nullopt;
    return it->second;
  }
  // Adds or overwrites; grows id_to_token as needed. `id` must be non-negative (callers check).
  void Set(const std::string& token, int32_t id) {
    token_to_id[token] = id;
    if (static_cast<size_t>(id) >= id_to_token.size()) id_to_token.resize(static_cast<size_t>(id) + 1);
    id_to_token[static_cast<size_t>(id)] = token;
  }
};

// The "vocab" object of a BPE or WordPiece model (token: id); errors name the field at fault.
StatusOr<Vocabulary> ReadVocabularyObject(const Json& config, const std::string& where);

class TokenizerModel {
 public:
  virtual ~TokenizerModel() = default;
  // Appends the ids of `word` (valid UTF-8, already normalized and pre-tokenized). Thread-safe.
  virtual void Encode(std::string_view word, std::vector<int32_t>& ids) const = 0;
  virtual const Vocabulary& vocabulary() const = 0;
  virtual std::optional<int32_t> unk_id() const = 0;
};

// Builds the model described by `config` ("model" of tokenizer.json); `where` names the field for errors.
StatusOr<std::unique_ptr<TokenizerModel>> MakeTokenizerModel(const Json& config, const std::string& where);

}  // namespace tessera::generate
