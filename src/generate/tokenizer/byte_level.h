// GPT-2's byte ⇄ character table: byte-level BPE spells every byte as one printable code point so that
// vocabularies stay valid UTF-8 (printable ASCII and Latin-1 map to themselves, the rest to U+0100…).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tessera::generate {

// The UTF-8 spelling of each byte's stand-in character.
const std::string& ByteToUnicode(unsigned char byte);

// The byte a stand-in code point spells, or nullopt for a code point outside the table.
std::optional<unsigned char> UnicodeToByte(char32_t cp);

// Every byte of `text` replaced by its stand-in.
std::string ByteLevelEncode(std::string_view text);

}  // namespace tessera::generate
