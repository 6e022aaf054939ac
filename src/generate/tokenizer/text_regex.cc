#define PCRE2_CODE_UNIT_WIDTH 8
#include "generate/tokenizer/text_regex.h"

#include <pcre2.h>

namespace tessera::generate {

StatusOr<std::shared_ptr<const TextRegex>> TextRegex::Compile(std::string_view pattern) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &error_code, &error_offset,
                                   nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof(message));
    return InvalidArgument("regex \"" + std::string(pattern) + "\" does not compile at offset " +
                           std::to_string(error_offset) + ": " + reinterpret_cast<char*>(message));
  }
  // JIT is a speed-up only; the interpreter gives the same matches when it is unavailable.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  std::shared_ptr<TextRegex> regex(new TextRegex());
  regex->code_ = code;
  return std::shared_ptr<const TextRegex>(std::move(regex));
}

StatusOr<std::shared_ptr<const TextRegex>> TextRegex::CompileLiteral(std::string_view literal) {
  std::string escaped;
  for (char c : literal) {
    // Escaping every ASCII punctuation character is always allowed in PCRE2.
    if ((c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~')) {
      escaped.push_back('\\');
    }
    escaped.push_back(c);
  }
  return Compile(escaped);
}

TextRegex::~TextRegex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

std::vector<std::pair<size_t, size_t>> TextRegex::FindAll(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> matches;
  auto* code = static_cast<pcre2_code*>(code_);
  pcre2_match_data* data = pcre2_match_data_create_from_pattern(code, nullptr);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t start = 0;
  while (start <= text.size()) {
    const int rc = pcre2_match(code, subject, text.size(), start, PCRE2_NO_UTF_CHECK, data, nullptr);
    if (rc < 0) break;  // no match (or a match limit hit on pathological input: the rest is one piece)
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data);
    const size_t begin = ovector[0], end = ovector[1];
    if (end > begin) {
      matches.emplace_back(begin, end);
      start = end;
    } else {
      // Empty match: step over one code point (continuation bytes are 10xxxxxx).
      start = begin + 1;
      while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
      if (begin >= text.size()) break;
    }
  }
  pcre2_match_data_free(data);
  return matches;
}

}  // namespace tessera::generate
