// A compiled PCRE2 pattern (UTF + UCP, JIT when available) for the split patterns of tokenizer.json.
// Hugging Face writes them for Oniguruma; the constructs they use (\p{L}, \p{N}, (?i:…), lookahead,
// possessive-free alternations) mean the same in PCRE2 with Unicode properties on.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tessera/status.h"

namespace tessera::generate {

class TextRegex {
 public:
  // Compiles `pattern`; the error names the pattern and PCRE2's reason and offset.
  static StatusOr<std::shared_ptr<const TextRegex>> Compile(std::string_view pattern);
  // A pattern matching `literal` exactly.
  static StatusOr<std::shared_ptr<const TextRegex>> CompileLiteral(std::string_view literal);
  ~TextRegex();

  // Non-overlapping matches of valid UTF-8 `text`, left to right, as [begin, end) byte ranges. An empty
  // match advances one code point so the scan always ends.
  std::vector<std::pair<size_t, size_t>> FindAll(std::string_view text) const;

  TextRegex(const TextRegex&) = delete;
  TextRegex& operator=(const TextRegex&) = delete;

 private:
  TextRegex() = default;
  void* code_ = nullptr;  // pcre2_code_8*, kept opaque so pcre2.h stays out of this header
};

}  // namespace tessera::generate
