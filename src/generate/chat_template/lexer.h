// Lexer: chat template source → tokens, with the whitespace rules Hugging Face renders templates under.
//
// Those rules are jinja2's with trim_blocks and lstrip_blocks on: a block or comment tag's line indent is
// dropped when only spaces and tabs precede it on its line ({%+ keeps it), the newline right after a
// block or comment tag is dropped (+%} keeps it), {%- / {{- / {#- strip every whitespace before the tag
// and -%} / -}} / -#} every whitespace after it. Newlines are normalised to \n and one trailing newline
// of the source is dropped (keep_trailing_newline off). Comments vanish; {% raw %} becomes text.
#pragma once

#include <string>
#include <vector>

#include "tessera/status.h"

namespace tessera::generate::chat_template {

enum class TokenType {
  kText,
  kVariableBegin,
  kVariableEnd,
  kBlockBegin,
  kBlockEnd,
  kName,
  kString,
  kInt,
  kFloat,
  kOperator,
  kEnd
};

struct Token {
  TokenType type = TokenType::kEnd;
  std::string text;  // the text, a name, an operator, a string's unescaped value, a number's digits
  int line = 1, column = 1;
};

// InvalidArgument naming the line and column of an unclosed tag, comment or string, an unexpected
// character, or unbalanced brackets. The last token is kEnd.
StatusOr<std::vector<Token>> Tokenize(const std::string& source);

// "line L, column C" for messages.
std::string Where(int line, int column);

}  // namespace tessera::generate::chat_template
