#include "generate/tokenizer/added_tokens.h"

#include <unicode/uchar.h>

#include "generate/tokenizer/utf8.h"

namespace tessera::generate {
namespace {

// Rust's is_alphanumeric plus '_' : what single_word treats as part of a word.
bool IsWordChar(char32_t cp) {
  return cp == U'_' || u_isalnum(static_cast<UChar32>(cp)) || u_hasBinaryProperty(cp, UCHAR_ALPHABETIC);
}

char32_t CodePointBefore(std::string_view text, size_t pos) {
  size_t begin = pos;
  while (begin > 0 && (static_cast<unsigned char>(text[begin - 1]) & 0xC0) == 0x80) --begin;
  if (begin > 0) --begin;
  return NextCodePoint(text, begin);
}

}  // namespace

StatusOr<std::vector<AddedToken>> ParseAddedTokens(const Json& config, const std::string& where) {
  std::vector<AddedToken> tokens;
  if (config.is_null()) return tokens;
  if (!config.is_array()) return JsonFieldError(where, "expected an array");
  for (size_t i = 0; i < config.size(); ++i) {
    const std::string at = JsonChild(where, i);
    const Json& entry = config[i];
    AddedToken token;
    TS_ASSIGN_OR_RETURN(token.content, JsonString(entry, "content", at));
    if (token.content.empty()) return JsonFieldError(JsonChild(at, "content"), "is empty");
    TS_ASSIGN_OR_RETURN(int64_t id, JsonIntOr(entry, "id", at, -1));
    if (id < 0 || id > INT32_MAX) return JsonFieldError(JsonChild(at, "id"), "expected a non-negative 32-bit id");
    token.id = static_cast<int32_t>(id);
    TS_ASSIGN_OR_RETURN(token.special, JsonBoolOr(entry, "special", at, false));
    TS_ASSIGN_OR_RETURN(token.single_word, JsonBoolOr(entry, "single_word", at, false));
    TS_ASSIGN_OR_RETURN(token.lstrip, JsonBoolOr(entry, "lstrip", at, false));
    TS_ASSIGN_OR_RETURN(token.rstrip, JsonBoolOr(entry, "rstrip", at, false));
    // Special tokens are matched in the raw text unless the file says otherwise.
    TS_ASSIGN_OR_RETURN(token.normalized, JsonBoolOr(entry, "normalized", at, !token.special));
    tokens.push_back(std::move(token));
  }
  return tokens;
}

AddedTokenSplitter::AddedTokenSplitter(const std::vector<const AddedToken*>& tokens) {
  for (const AddedToken* token : tokens) {
    int32_t node = 0;
    for (char c : token->content) {
      const unsigned char byte = static_cast<unsigned char>(c);
      auto it = nodes_[node].next.find(byte);
      if (it == nodes_[node].next.end()) {
        nodes_[node].next[byte] = static_cast<int32_t>(nodes_.size());
        node = static_cast<int32_t>(nodes_.size());
        nodes_.emplace_back();
      } else {
        node = it->second;
      }
    }
    // Of two tokens with the same content the first listed wins.
    if (nodes_[node].token == nullptr) nodes_[node].token = token;
  }
}

const AddedToken* AddedTokenSplitter::LongestMatch(std::string_view text, size_t pos) const {
  const AddedToken* match = nullptr;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    auto it = nodes_[node].next.find(static_cast<unsigned char>(text[i]));
    if (it == nodes_[node].next.end()) break;
    node = it->second;
    const AddedToken* token = nodes_[node].token;
    if (token == nullptr) continue;
    if (token->single_word) {
      const size_t end = i + 1;
      size_t after = end;
      const bool word_before = pos > 0 && IsWordChar(CodePointBefore(text, pos));
      const bool word_after = end < text.size() && IsWordChar(NextCodePoint(text, after));
      if (word_before || word_after) continue;
    }
    match = token;
  }
  return match;
}

std::vector<TextSection> AddedTokenSplitter::Split(std::string_view text) const {
  std::vector<TextSection> sections;
  size_t start = 0;
  for (size_t pos = 0; pos < text.size();) {
    const AddedToken* token = empty() ? nullptr : LongestMatch(text, pos);
    if (token == nullptr) {
      ++pos;
      continue;
    }
    if (pos > start) sections.push_back({std::string(text.substr(start, pos - start)), nullptr});
    sections.push_back({token->content, token});
    pos += token->content.size();
    start = pos;
  }
  if (start < text.size()) sections.push_back({std::string(text.substr(start)), nullptr});
  for (size_t i = 0; i < sections.size(); ++i) {
    const AddedToken* token = sections[i].token;
    if (token == nullptr) continue;
    if (token->lstrip && i > 0 && sections[i - 1].token == nullptr) {
      sections[i - 1].text = std::string(TrimEnd(sections[i - 1].text));
    }
    if (token->rstrip && i + 1 < sections.size() && sections[i + 1].token == nullptr) {
      sections[i + 1].text = std::string(TrimStart(sections[i + 1].text));
    }
  }
  return sections;
}

}  // namespace tessera::generate
