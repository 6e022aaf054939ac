#include "generate/tokenizer/byte_level.h"

#include <array>

#include "generate/tokenizer/utf8.h"

namespace tessera::generate {
namespace {

struct ByteTable {
  std::array<char32_t, 256> to_cp{};
  std::array<std::string, 256> to_utf8;
  ByteTable() {
    // Bytes that are printable stay themselves; the others take U+0100 + n in byte order.
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_cp[b] = printable ? static_cast<char32_t>(b) : next++;
      AppendUtf8(to_cp[b], to_utf8[b]);
    }
  }
};

const ByteTable& Table() {
  static const ByteTable table;
  return table;
}

}  // namespace

const std::string& ByteToUnicode(unsigned char byte) { return Table().to_utf8[byte]; }

std::optional<unsigned char> UnicodeToByte(char32_t cp) {
  if (cp < 256) {
    const char32_t mapped = Table().to_cp[cp];
    if (mapped == cp) return static_cast<unsigned char>(cp);
    return std::nullopt;
  }
  if (cp >= 256 && cp < 256 + 68) {
    // The 68 non-printable bytes, in byte order.
    int index = static_cast<int>(cp - 256);
    for (int b = 0; b < 256; ++b) {
      if (Table().to_cp[b] >= 256 && index-- == 0) return static_cast<unsigned char>(b);
    }
  }
  return std::nullopt;
}

std::string ByteLevelEncode(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 2);
  for (char c : text) out += ByteToUnicode(static_cast<unsigned char>(c));
  return out;
}

}  // namespace tessera::generate
