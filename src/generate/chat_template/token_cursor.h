// TokenCursor: the parsers' position in the token list, with jinja's ways of asking about the next token.
#pragma once

#include <string>
#include <vector>

#include "generate/chat_template/lexer.h"

namespace tessera::generate::chat_template {

class TokenCursor {
 public:
  explicit TokenCursor(const std::vector<Token>& tokens) : tokens_(tokens) {}

  // Blocks and expressions nest at most this deep, so that parsing, rendering and freeing the tree stay
  // within the stack whatever the source.
  static constexpr int kMaxNesting = 64;
  // Held while parsing one nested block or expression.
  class Nesting {
   public:
    explicit Nesting(TokenCursor& in) : in_(in) { ++in_.depth_; }
    ~Nesting() { --in_.depth_; }
    Status Check() const {
      if (in_.depth_ <= kMaxNesting) return Status::Ok();
      return in_.Error("blocks and expressions nest more than " + std::to_string(kMaxNesting) + " deep");
    }

   private:
    TokenCursor& in_;
  };

  const Token& current() const { return tokens_[pos_]; }
  const Token& peek() const { return tokens_[pos_ + 1 < tokens_.size() ? pos_ + 1 : pos_]; }
  void Next() {
    if (pos_ + 1 < tokens_.size()) ++pos_;
  }

  bool IsName(const char* name) const { return Is(current(), TokenType::kName, name); }
  bool IsOperator(const char* op) const { return Is(current(), TokenType::kOperator, op); }
  // Moves past the current token when it is that name or operator.
  bool SkipName(const char* name) { return SkipIf(IsName(name)); }
  bool SkipOperator(const char* op) { return SkipIf(IsOperator(op)); }

  // InvalidArgument at the current token.
  Status Error(const std::string& message) const {
    return InvalidArgument("chat template syntax error at " + Where(current().line, current().column) + ": " + message);
  }
  Status ExpectOperator(const char* op) {
    if (SkipOperator(op)) return Status::Ok();
    return Error("expected '" + std::string(op) + "', got " + Describe(current()));
  }
  Status ExpectBlockEnd() {
    if (current().type == TokenType::kBlockEnd) {
      Next();
      return Status::Ok();
    }
    return Error("expected the end of the statement block, got " + Describe(current()));
  }

  static std::string Describe(const Token& t) {
    switch (t.type) {
      case TokenType::kText:
        return "text";
      case TokenType::kVariableBegin:
        return "'{{'";
      case TokenType::kVariableEnd:
        return "'}}'";
      case TokenType::kBlockBegin:
        return "'{%'";
      case TokenType::kBlockEnd:
        return "'%}'";
      case TokenType::kString:
        return "a string";
      case TokenType::kEnd:
        return "the end of the template";
      default:
        return "'" + t.text + "'";
    }
  }

 private:
  static bool Is(const Token& t, TokenType type, const char* text) { return t.type == type && t.text == text; }
  bool SkipIf(bool yes) {
    if (yes) Next();
    return yes;
  }

  const std::vector<Token>& tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace tessera::generate::chat_template
