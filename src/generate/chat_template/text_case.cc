// Case mapping (text_case.h) with ICU.
#include "generate/chat_template/text_case.h"

#include <unicode/locid.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

namespace tessera::generate::chat_template {

namespace {

std::string ToUtf8(const icu::UnicodeString& u) {
  std::string out;
  u.toUTF8String(out);
  return out;
}

void AppendCodePoint(uint32_t cp, std::string& out) { out += ToUtf8(icu::UnicodeString(static_cast<UChar32>(cp))); }

}  // namespace

uint32_t NextCodePoint(const std::string& s, size_t& pos) {
  const unsigned char c = static_cast<unsigned char>(s[pos]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || pos + n > s.size()) {
    ++pos;
    return c;
  }
  uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
  for (size_t i = 1; i < n; ++i) cp = (cp << 6) | (static_cast<unsigned char>(s[pos + i]) & 0x3f);
  pos += n;
  return cp;
}

std::string ToUpper(const std::string& s) {
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(s);
  return ToUtf8(u.toUpper(icu::Locale::getRoot()));
}

std::string ToLower(const std::string& s) {
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(s);
  return ToUtf8(u.toLower(icu::Locale::getRoot()));
}

std::string ToTitle(const std::string& s) {
  std::string out;
  bool previous_cased = false;
  for (size_t pos = 0; pos < s.size();) {
    const uint32_t cp = NextCodePoint(s, pos);
    const UChar32 c = static_cast<UChar32>(cp);
    AppendCodePoint(static_cast<uint32_t>(previous_cased ? u_tolower(c) : u_totitle(c)), out);
    previous_cased = u_hasBinaryProperty(c, UCHAR_CASED);
  }
  return out;
}

std::string Capitalize(const std::string& s) {
  if (s.empty()) return s;
  size_t pos = 0;
  const uint32_t first = NextCodePoint(s, pos);
  std::string out;
  AppendCodePoint(static_cast<uint32_t>(u_totitle(static_cast<UChar32>(first))), out);
  return out + ToLower(s.substr(pos));
}

bool IsPythonSpace(uint32_t c) {
  if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) return true;
  if (c < 0x80) return false;
  return c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
         c == 0x202f || c == 0x205f || c == 0x3000;
}

}  // namespace tessera::generate::chat_template
