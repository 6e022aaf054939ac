// Decoders of tokenizer.json ("decoder"): token strings → text. Each step maps the list of token strings
// to a new list (the Rust crate's decode_chain); the tokenizer joins the last list. ByteLevel turns
// byte stand-ins back into bytes and ByteFallback <0xNN> tokens into bytes; bytes that do not form
// UTF-8 become U+FFFD per maximal invalid subpart (as JavaScript's TextDecoder does).
#pragma once

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "generate/tokenizer/json_fields.h"

namespace tessera::generate {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const = 0;
};

// null gives nullptr (tokens are joined with spaces). `added_contents` are the added tokens' strings,
// which ByteLevel keeps as written; the set must outlive the decoder. Unknown types are an Unimplemented
// error naming the field.
StatusOr<std::unique_ptr<Decoder>> MakeDecoder(const Json& config,
                                               const std::unordered_set<std::string>* added_contents,
                                               const std::string& where);

// The "clean_up_tokenization_spaces" rewrite of decoded English text (" ." → ".", " n't" → "n't", …).
std::string CleanUpTokenizationSpaces(std::string text);

}  // namespace tessera::generate
