// UTF-8 helpers for the tokenizer: decoding that never fails on bad input, encoding, and byte-level
// checks. Tokenizer input is untrusted text, so invalid sequences become U+FFFD instead of errors.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::generate {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Appends the UTF-8 form of `cp` to `out`. Surrogates and values past U+10FFFF become U+FFFD.
void AppendUtf8(char32_t cp, std::string& out);

// Decodes one code point at `text[pos]` and advances `pos`. A maximal invalid subpart (as the WHATWG
// decoder and Rust's from_utf8_lossy define it) yields U+FFFD and is consumed, so callers always progress.
char32_t NextCodePoint(std::string_view text, size_t& pos);

// Every code point of `text`, invalid subparts as U+FFFD.
std::u32string DecodeUtf8(std::string_view text);
std::string EncodeUtf8(std::u32string_view text);

// `text` with each maximal invalid subpart replaced by U+FFFD; valid text comes back unchanged.
std::string SanitizeUtf8(std::string_view text);
bool IsValidUtf8(std::string_view text);

// Byte offsets where each code point of valid UTF-8 `text` starts, plus text.size() at the end.
std::vector<size_t> CodePointOffsets(std::string_view text);

// JavaScript's whitespace (what tokenizers.js trims around added tokens): Unicode Zs, tab, line ends,
// U+FEFF. Rust's char::is_whitespace differs only in U+0085 and U+FEFF.
bool IsUnicodeWhitespace(char32_t cp);

// `text` without leading / trailing Unicode whitespace.
std::string_view TrimStart(std::string_view text);
std::string_view TrimEnd(std::string_view text);

}  // namespace tessera::generate
