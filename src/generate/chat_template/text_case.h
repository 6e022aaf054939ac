// Python's str case mapping and whitespace, over UTF-8 (ICU's Unicode data): upper() and lower() with
// full mappings ('ß'.upper() is 'SS'), title(), capitalize(), and isspace() for strip and split.
#pragma once

#include <cstdint>
#include <string>

namespace tessera::generate::chat_template {

std::string ToUpper(const std::string& s);
std::string ToLower(const std::string& s);
// str.title(): a letter after a cased character is lowered, any other is title-cased.
std::string ToTitle(const std::string& s);
// str.capitalize(): the first character title-cased, the rest lowered.
std::string Capitalize(const std::string& s);
bool IsPythonSpace(uint32_t code_point);
// Decodes one code point at `pos` and moves past it (a broken sequence reads as its first byte).
uint32_t NextCodePoint(const std::string& s, size_t& pos);

}  // namespace tessera::generate::chat_template
