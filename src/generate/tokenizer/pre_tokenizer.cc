#include "generate/tokenizer/pre_tokenizer.h"

#include <unicode/uchar.h>

#include <cctype>

#include "generate/tokenizer/byte_level.h"
#include "generate/tokenizer/normalizer.h"
#include "generate/tokenizer/text_regex.h"
#include "generate/tokenizer/utf8.h"

namespace tessera::generate {
namespace {

// GPT-2's word pattern, which ByteLevel applies when use_regex is true.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, std::shared_ptr<const TextRegex> regex)
      : add_prefix_space_(add_prefix_space), regex_(std::move(regex)) {}
  void PreTokenize(std::string_view text, bool, std::vector<std::string>& out) const override {
    std::string prefixed;
    if (add_prefix_space_ && !text.empty() && text[0] != ' ') {
      prefixed = " " + std::string(text);
      text = prefixed;
    }
    if (!regex_) {
      if (!text.empty()) out.push_back(ByteLevelEncode(text));
      return;
    }
    for (auto [begin, end] : regex_->FindAll(text)) out.push_back(ByteLevelEncode(text.substr(begin, end - begin)));
  }

 private:
  bool add_prefix_space_;
  std::shared_ptr<const TextRegex> regex_;  // null when use_regex is false
};

class Split : public PreTokenizer {
 public:
  Split(std::shared_ptr<const TextRegex> regex, SplitBehavior behavior, bool invert)
      : regex_(std::move(regex)), behavior_(behavior), invert_(invert) {}
  void PreTokenize(std::string_view text, bool, std::vector<std::string>& out) const override {
    SplitByMatches(text, regex_->FindAll(text), invert_, behavior_, out);
  }

 private:
  std::shared_ptr<const TextRegex> regex_;
  SplitBehavior behavior_;
  bool invert_;
};

enum class PrependScheme { kAlways, kFirst, kNever };

class Metaspace : public PreTokenizer {
 public:
  Metaspace(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}
  void PreTokenize(std::string_view text, bool first_section, std::vector<std::string>& out) const override {
    std::string replaced;
    for (char c : text) {
      if (c == ' ') replaced += replacement_;
      else replaced.push_back(c);
    }
    const bool prepend = scheme_ == PrependScheme::kAlways || (scheme_ == PrependScheme::kFirst && first_section);
    if (prepend && replaced.compare(0, replacement_.size(), replacement_) != 0) replaced = replacement_ + replaced;
    if (!split_) {
      if (!replaced.empty()) out.push_back(std::move(replaced));
      return;
    }
    std::vector<std::pair<size_t, size_t>> matches;
    for (size_t at = replaced.find(replacement_); at != std::string::npos && !replacement_.empty();
         at = replaced.find(replacement_, at + replacement_.size())) {
      matches.emplace_back(at, at + replacement_.size());
    }
    SplitByMatches(replaced, matches, false, SplitBehavior::kMergedWithNext, out);
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
};

class Digits : public PreTokenizer {
 public:
  explicit Digits(bool individual) : individual_(individual) {}
  void PreTokenize(std::string_view text, bool, std::vector<std::string>& out) const override {
    std::vector<std::pair<size_t, size_t>> matches;
    for (size_t pos = 0; pos < text.size();) {
      const size_t begin = pos;
      const char32_t cp = NextCodePoint(text, pos);
      const int8_t type = u_charType(static_cast<UChar32>(cp));
      // Rust's char::is_numeric: the N categories.
      if (type == U_DECIMAL_DIGIT_NUMBER || type == U_LETTER_NUMBER || type == U_OTHER_NUMBER) {
        matches.emplace_back(begin, pos);
      }
    }
    SplitByMatches(text, matches, false, individual_ ? SplitBehavior::kIsolated : SplitBehavior::kContiguous, out);
  }

 private:
  bool individual_;
};

class WhitespaceSplit : public PreTokenizer {
 public:
  void PreTokenize(std::string_view text, bool, std::vector<std::string>& out) const override {
    std::vector<std::pair<size_t, size_t>> matches;
    for (size_t pos = 0; pos < text.size();) {
      const size_t begin = pos;
      if (IsUnicodeWhitespace(NextCodePoint(text, pos))) matches.emplace_back(begin, pos);
    }
    SplitByMatches(text, matches, false, SplitBehavior::kRemoved, out);
  }
};

// BERT's: whitespace separates words and is dropped; each punctuation character (Unicode P, or ASCII
// punctuation such as $ + < = > ^ ` | ~) is a word of its own.
class BertPreTokenizer : public PreTokenizer {
 public:
  void PreTokenize(std::string_view text, bool, std::vector<std::string>& out) const override {
    std::string word;
    for (size_t pos = 0; pos < text.size();) {
      const size_t begin = pos;
      const char32_t cp = NextCodePoint(text, pos);
      const bool space = IsUnicodeWhitespace(cp);
      const bool punct = !space && (u_ispunct(static_cast<UChar32>(cp)) ||
                                    (cp < 0x80 && std::ispunct(static_cast<unsigned char>(cp))));
      if (space || punct) {
        if (!word.empty()) out.push_back(std::move(word));
        word.clear();
        if (punct) out.emplace_back(text.substr(begin, pos - begin));
      } else {
        word.append(text.substr(begin, pos - begin));
      }
    }
    if (!word.empty()) out.push_back(std::move(word));
  }
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps) : steps_(std::move(steps)) {}
  void PreTokenize(std::string_view text, bool first_section, std::vector<std::string>& out) const override {
    std::vector<std::string> words{std::string(text)};
    for (const auto& step : steps_) {
      std::vector<std::string> next;
      for (const auto& word : words) step->PreTokenize(word, first_section, next);
      words = std::move(next);
    }
    for (auto& word : words) out.push_back(std::move(word));
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

StatusOr<SplitBehavior> ParseBehavior(const Json& config, const std::string& where) {
  TS_ASSIGN_OR_RETURN(std::string name, JsonString(config, "behavior", where));
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  return JsonFieldError(JsonChild(where, "behavior"), "unknown split behavior \"" + name + "\"");
}

StatusOr<std::unique_ptr<PreTokenizer>> MakeMetaspace(const Json& config, const std::string& where) {
  TS_ASSIGN_OR_RETURN(std::string replacement, JsonStringOr(config, "replacement", where, "\u2581"));
  // Older files write add_prefix_space instead of prepend_scheme.
  TS_ASSIGN_OR_RETURN(bool add_prefix_space, JsonBoolOr(config, "add_prefix_space", where, true));
  TS_ASSIGN_OR_RETURN(std::string scheme_name,
                      JsonStringOr(config, "prepend_scheme", where, add_prefix_space ? "always" : "never"));
  PrependScheme scheme;
  if (scheme_name == "always") scheme = PrependScheme::kAlways;
  else if (scheme_name == "first") scheme = PrependScheme::kFirst;
  else if (scheme_name == "never") scheme = PrependScheme::kNever;
  else return JsonFieldError(JsonChild(where, "prepend_scheme"), "expected always, first or never");
  TS_ASSIGN_OR_RETURN(bool split, JsonBoolOr(config, "split", where, true));
  return std::unique_ptr<PreTokenizer>(new Metaspace(replacement, scheme, split));
}

}  // namespace

void SplitByMatches(std::string_view text, const std::vector<std::pair<size_t, size_t>>& matches, bool invert,
                    SplitBehavior behavior, std::vector<std::string>& out) {
  struct Piece {
    size_t begin, end;
    bool is_match;
  };
  std::vector<Piece> pieces;
  size_t last = 0;
  for (auto [begin, end] : matches) {
    if (begin > last) pieces.push_back({last, begin, invert});
    if (end > begin) pieces.push_back({begin, end, !invert});
    last = end;
  }
  if (last < text.size()) pieces.push_back({last, text.size(), invert});

  std::vector<std::pair<size_t, size_t>> kept;
  switch (behavior) {
    case SplitBehavior::kRemoved:
      for (const Piece& p : pieces) if (!p.is_match) kept.emplace_back(p.begin, p.end);
      break;
    case SplitBehavior::kIsolated:
      for (const Piece& p : pieces) kept.emplace_back(p.begin, p.end);
      break;
    case SplitBehavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (const Piece& p : pieces) {
        if (p.is_match && !previous_match && !kept.empty()) kept.back().second = p.end;
        else kept.emplace_back(p.begin, p.end);
        previous_match = p.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool previous_match = false;  // of the piece after this one, walking backwards
      for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
        if (it->is_match && !previous_match && !kept.empty()) kept.back().first = it->begin;
        else kept.emplace_back(it->begin, it->end);
        previous_match = it->is_match;
      }
      std::reverse(kept.begin(), kept.end());
      break;
    }
    case SplitBehavior::kContiguous: {
      for (size_t i = 0; i < pieces.size(); ++i) {
        if (i > 0 && pieces[i].is_match && pieces[i - 1].is_match) kept.back().second = pieces[i].end;
        else kept.emplace_back(pieces[i].begin, pieces[i].end);
      }
      break;
    }
  }
  for (auto [begin, end] : kept) {
    if (end > begin) out.emplace_back(text.substr(begin, end - begin));
  }
}

StatusOr<std::unique_ptr<PreTokenizer>> MakePreTokenizer(const Json& config, const std::string& where) {
  if (config.is_null()) return std::unique_ptr<PreTokenizer>();
  TS_ASSIGN_OR_RETURN(std::string type, JsonString(config, "type", where));
  if (type == "ByteLevel") {
    TS_ASSIGN_OR_RETURN(bool add_prefix_space, JsonBoolOr(config, "add_prefix_space", where, true));
    TS_ASSIGN_OR_RETURN(bool use_regex, JsonBoolOr(config, "use_regex", where, true));
    std::shared_ptr<const TextRegex> regex;
    if (use_regex) {
      TS_ASSIGN_OR_RETURN(regex, TextRegex::Compile(kGpt2Pattern));
    }
    return std::unique_ptr<PreTokenizer>(new ByteLevel(add_prefix_space, std::move(regex)));
  }
  if (type == "Split") {
    TS_ASSIGN_OR_RETURN(const Json* pattern_config, JsonMember(config, "pattern", where));
    TS_ASSIGN_OR_RETURN(auto regex, MakePattern(*pattern_config, JsonChild(where, "pattern")));
    TS_ASSIGN_OR_RETURN(SplitBehavior behavior, ParseBehavior(config, where));
    TS_ASSIGN_OR_RETURN(bool invert, JsonBoolOr(config, "invert", where, false));
    return std::unique_ptr<PreTokenizer>(new Split(std::move(regex), behavior, invert));
  }
  if (type == "Metaspace") return MakeMetaspace(config, where);
  if (type == "Digits") {
    TS_ASSIGN_OR_RETURN(bool individual, JsonBoolOr(config, "individual_digits", where, false));
    return std::unique_ptr<PreTokenizer>(new Digits(individual));
  }
  if (type == "WhitespaceSplit") return std::unique_ptr<PreTokenizer>(new WhitespaceSplit());
  if (type == "BertPreTokenizer") return std::unique_ptr<PreTokenizer>(new BertPreTokenizer());
  if (type == "Whitespace") {
    TS_ASSIGN_OR_RETURN(auto regex, TextRegex::Compile(R"(\w+|[^\w\s]+)"));
    return std::unique_ptr<PreTokenizer>(new Split(std::move(regex), SplitBehavior::kRemoved, true));
  }
  if (type == "Sequence") {
    TS_ASSIGN_OR_RETURN(const Json* list, JsonMember(config, "pretokenizers", where));
    if (!list->is_array()) return JsonFieldError(JsonChild(where, "pretokenizers"), "expected an array");
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (size_t i = 0; i < list->size(); ++i) {
      TS_ASSIGN_OR_RETURN(auto step,
                          MakePreTokenizer((*list)[i], JsonChild(JsonChild(where, "pretokenizers"), i)));
      if (step) steps.push_back(std::move(step));
    }
    return std::unique_ptr<PreTokenizer>(new SequencePreTokenizer(std::move(steps)));
  }
  return Unimplemented(where + ".type '" + type + "' is not supported (supported: ByteLevel, "
                       "Split, Metaspace, Digits, Whitespace, WhitespaceSplit, BertPreTokenizer, Sequence)");
}

}  // namespace tessera::generate
