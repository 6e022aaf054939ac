#include "generate/tokenizer/normalizer.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <vector>

#include "generate/tokenizer/text_regex.h"
#include "generate/tokenizer/utf8.h"

namespace tessera::generate {
namespace {

class UnicodeForm : public Normalizer {
 public:
  explicit UnicodeForm(const icu::Normalizer2* form) : form_(form) {}
  std::string Normalize(std::string_view text) const override {
    UErrorCode status = U_ZERO_ERROR;
    icu::UnicodeString normalized =
        form_->normalize(icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), text.size())), status);
    if (U_FAILURE(status)) return std::string(text);  // ICU fails only on allocation; keep the text
    std::string out;
    normalized.toUTF8String(out);
    return out;
  }

 private:
  const icu::Normalizer2* form_;  // owned by ICU, lives for the process
};

class Lowercase : public Normalizer {
 public:
  std::string Normalize(std::string_view text) const override {
    icu::UnicodeString s = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), text.size()));
    s.toLower(icu::Locale::getRoot());  // full, locale-independent mapping like String.toLowerCase
    std::string out;
    s.toUTF8String(out);
    return out;
  }
};

class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  // Hugging Face prepends only to non-empty text.
  std::string Normalize(std::string_view text) const override {
    return text.empty() ? std::string() : prefix_ + std::string(text);
  }

 private:
  std::string prefix_;
};

class Replace : public Normalizer {
 public:
  Replace(std::shared_ptr<const TextRegex> pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  std::string Normalize(std::string_view text) const override {
    std::string out;
    size_t last = 0;
    for (auto [begin, end] : pattern_->FindAll(text)) {
      out.append(text.substr(last, begin - last));
      out += content_;
      last = end;
    }
    out.append(text.substr(last));
    return out;
  }

 private:
  std::shared_ptr<const TextRegex> pattern_;
  std::string content_;
};

class Strip : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  std::string Normalize(std::string_view text) const override {
    if (left_) text = TrimStart(text);
    if (right_) text = TrimEnd(text);
    return std::string(text);
  }

 private:
  bool left_, right_;
};

class StripAccents : public Normalizer {
 public:
  // Removes every mark (\p{M}: Mn, Mc, Me), as tokenizers.js does after NFD.
  std::string Normalize(std::string_view text) const override {
    std::string out;
    for (size_t pos = 0; pos < text.size();) {
      const char32_t cp = NextCodePoint(text, pos);
      const int8_t type = u_charType(static_cast<UChar32>(cp));
      if (type != U_NON_SPACING_MARK && type != U_COMBINING_SPACING_MARK && type != U_ENCLOSING_MARK) {
        AppendUtf8(cp, out);
      }
    }
    return out;
  }
};

// BERT's normalizer: drop control characters and map whitespace to ' ' (clean_text), put spaces around
// CJK ideographs (handle_chinese_chars), lowercase, and strip accents (NFD, then no Mn) when asked or,
// by default, when lowercasing.
class BertNormalizer : public Normalizer {
 public:
  BertNormalizer(bool clean_text, bool chinese_chars, bool strip_accents, bool lowercase)
      : clean_text_(clean_text), chinese_chars_(chinese_chars), strip_accents_(strip_accents), lowercase_(lowercase) {}
  std::string Normalize(std::string_view text) const override {
    std::string out;
    for (size_t pos = 0; pos < text.size();) {
      const char32_t cp = NextCodePoint(text, pos);
      if (clean_text_) {
        if (cp == 0 || cp == kReplacementChar || IsControl(cp)) continue;
        if (IsUnicodeWhitespace(cp)) {
          out.push_back(' ');
          continue;
        }
      }
      const bool pad = chinese_chars_ && IsChineseChar(cp);
      if (pad) out.push_back(' ');
      AppendUtf8(cp, out);
      if (pad) out.push_back(' ');
    }
    if (lowercase_) out = Lowercase().Normalize(out);
    if (strip_accents_) {
      UErrorCode status = U_ZERO_ERROR;
      const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(status);
      if (U_SUCCESS(status)) out = UnicodeForm(nfd).Normalize(out);
      std::string stripped;
      for (size_t pos = 0; pos < out.size();) {
        const char32_t cp = NextCodePoint(out, pos);
        if (u_charType(static_cast<UChar32>(cp)) != U_NON_SPACING_MARK) AppendUtf8(cp, stripped);
      }
      out = std::move(stripped);
    }
    return out;
  }

 private:
  // Cc (but tab and line ends), Cf, Co, Cs: what BERT's clean_text removes.
  static bool IsControl(char32_t cp) {
    if (cp == U'\t' || cp == U'\n' || cp == U'\r') return false;
    const int8_t type = u_charType(static_cast<UChar32>(cp));
    return type == U_CONTROL_CHAR || type == U_FORMAT_CHAR || type == U_PRIVATE_USE_CHAR || type == U_SURROGATE;
  }
  // The CJK Unified Ideograph blocks BERT pads (not Hiragana, Katakana or Hangul).
  static bool IsChineseChar(char32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
           (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
  }
  bool clean_text_, chinese_chars_, strip_accents_, lowercase_;
};

// SentencePiece's "Precompiled" normalizer as tokenizers.js runs it: the charsmap blob is not read; its
// effect is NFKC, control characters dropped and the usual spaces (and U+2581) made ' '. U+FF5E stays
// as written (NFKC would make it '~'). The Rust crate applies the charsmap itself, which agrees on
// ordinary text.
class PrecompiledNormalizer : public Normalizer {
 public:
  explicit PrecompiledNormalizer(const icu::Normalizer2* nfkc) : nfkc_(nfkc) {}
  std::string Normalize(std::string_view text) const override {
    std::string cleaned;
    for (size_t pos = 0; pos < text.size();) {
      const char32_t cp = NextCodePoint(text, pos);
      if ((cp >= 0x01 && cp <= 0x08) || cp == 0x0B || (cp >= 0x0E && cp <= 0x1F) || cp == 0x7F || cp == 0x8F ||
          cp == 0x9F) {
        continue;
      }
      const bool space = cp == 0x09 || cp == 0x0A || cp == 0x0C || cp == 0x0D || cp == 0xA0 || cp == 0x1680 ||
                         (cp >= 0x2000 && cp <= 0x200F) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
                         cp == 0x205F || cp == 0x2581 || cp == 0x3000 || cp == 0xFEFF || cp == kReplacementChar;
      AppendUtf8(space ? U' ' : cp, cleaned);
    }
    static constexpr std::string_view kWaveDash = "\xEF\xBD\x9E";  // U+FF5E
    const UnicodeForm nfkc(nfkc_);
    std::string out;
    size_t start = 0;
    for (size_t at = cleaned.find(kWaveDash); at != std::string::npos; at = cleaned.find(kWaveDash, start)) {
      out += nfkc.Normalize(std::string_view(cleaned).substr(start, at - start));
      out += kWaveDash;
      start = at + kWaveDash.size();
    }
    out += nfkc.Normalize(std::string_view(cleaned).substr(start));
    return out;
  }

 private:
  const icu::Normalizer2* nfkc_;
};

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
  std::string Normalize(std::string_view text) const override {
    std::string current(text);
    for (const auto& step : steps_) current = step->Normalize(current);
    return current;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

StatusOr<std::unique_ptr<Normalizer>> MakeUnicodeForm(const std::string& type, const std::string& where) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* form = nullptr;
  if (type == "NFC") form = icu::Normalizer2::getNFCInstance(status);
  if (type == "NFD") form = icu::Normalizer2::getNFDInstance(status);
  if (type == "NFKC") form = icu::Normalizer2::getNFKCInstance(status);
  if (type == "NFKD") form = icu::Normalizer2::getNFKDInstance(status);
  if (form == nullptr || U_FAILURE(status)) {
    return Internal(where + ": ICU has no " + type + " normalizer: " + u_errorName(status));
  }
  return std::unique_ptr<Normalizer>(new UnicodeForm(form));
}

}  // namespace

StatusOr<std::unique_ptr<Normalizer>> MakeNormalizer(const Json& config, const std::string& where) {
  if (config.is_null()) return std::unique_ptr<Normalizer>();
  TS_ASSIGN_OR_RETURN(std::string type, JsonString(config, "type", where));
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") return MakeUnicodeForm(type, where);
  if (type == "Lowercase") return std::unique_ptr<Normalizer>(new Lowercase());
  if (type == "Precompiled") {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(status);
    if (U_FAILURE(status)) return Internal(where + ": ICU has no NFKC normalizer: " + u_errorName(status));
    return std::unique_ptr<Normalizer>(new PrecompiledNormalizer(nfkc));
  }
  if (type == "BertNormalizer") {
    TS_ASSIGN_OR_RETURN(bool clean_text, JsonBoolOr(config, "clean_text", where, true));
    TS_ASSIGN_OR_RETURN(bool chinese_chars, JsonBoolOr(config, "handle_chinese_chars", where, true));
    TS_ASSIGN_OR_RETURN(bool lowercase, JsonBoolOr(config, "lowercase", where, true));
    // strip_accents null (the usual value) follows lowercase.
    TS_ASSIGN_OR_RETURN(bool strip_accents, JsonBoolOr(config, "strip_accents", where, lowercase));
    return std::unique_ptr<Normalizer>(new BertNormalizer(clean_text, chinese_chars, strip_accents, lowercase));
  }
  if (type == "StripAccents") return std::unique_ptr<Normalizer>(new StripAccents());
  if (type == "Prepend") {
    TS_ASSIGN_OR_RETURN(std::string prefix, JsonString(config, "prepend", where));
    return std::unique_ptr<Normalizer>(new Prepend(std::move(prefix)));
  }
  if (type == "Strip") {
    TS_ASSIGN_OR_RETURN(bool left, JsonBoolOr(config, "strip_left", where, true));
    TS_ASSIGN_OR_RETURN(bool right, JsonBoolOr(config, "strip_right", where, true));
    return std::unique_ptr<Normalizer>(new Strip(left, right));
  }
  if (type == "Replace") {
    TS_ASSIGN_OR_RETURN(const Json* pattern_config, JsonMember(config, "pattern", where));
    TS_ASSIGN_OR_RETURN(auto pattern, MakePattern(*pattern_config, JsonChild(where, "pattern")));
    TS_ASSIGN_OR_RETURN(std::string content, JsonString(config, "content", where));
    return std::unique_ptr<Normalizer>(new Replace(std::move(pattern), std::move(content)));
  }
  if (type == "Sequence") {
    TS_ASSIGN_OR_RETURN(const Json* list, JsonMember(config, "normalizers", where));
    if (!list->is_array()) return JsonFieldError(JsonChild(where, "normalizers"), "expected an array");
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (size_t i = 0; i < list->size(); ++i) {
      TS_ASSIGN_OR_RETURN(auto step, MakeNormalizer((*list)[i], JsonChild(JsonChild(where, "normalizers"), i)));
      if (step) steps.push_back(std::move(step));
    }
    return std::unique_ptr<Normalizer>(new SequenceNormalizer(std::move(steps)));
  }
  return Unimplemented(where + ".type '" + type + "' is not supported (supported: NFC, NFD, NFKC, NFKD, "
                       "Precompiled, BertNormalizer, Lowercase, StripAccents, Prepend, Strip, Replace, Sequence)");
}

StatusOr<std::shared_ptr<const TextRegex>> MakePattern(const Json& config, const std::string& where) {
  if (config.is_object() && config.contains("String")) {
    TS_ASSIGN_OR_RETURN(std::string literal, JsonString(config, "String", where));
    return TextRegex::CompileLiteral(literal);
  }
  if (config.is_object() && config.contains("Regex")) {
    TS_ASSIGN_OR_RETURN(std::string regex, JsonString(config, "Regex", where));
    auto compiled = TextRegex::Compile(regex);
    if (!compiled.ok()) return compiled.status().WithContext(JsonChild(where, "Regex"));
    return compiled;
  }
  return JsonFieldError(where, "expected {\"String\": …} or {\"Regex\": …}");
}

}  // namespace tessera::generate
