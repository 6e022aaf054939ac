// Tokenize (lexer.h): one pass over the source, switching between text and the inside of a tag.
#include "generate/chat_template/lexer.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace tessera::generate::chat_template {

std::string Where(int line, int column) {
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool IsNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string Normalize(const std::string& source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

class Lexer {
 public:
  explicit Lexer(std::string source) : src_(std::move(source)) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i) {
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  StatusOr<std::vector<Token>> Run() {
    bool line_starting = true;
    while (pos_ < src_.size()) {
      size_t start = src_.find('{', pos_);
      while (start != std::string::npos && start + 1 < src_.size() && !std::strchr("{%#", src_[start + 1])) {
        start = src_.find('{', start + 1);
      }
      if (start == std::string::npos || start + 1 >= src_.size()) {
        Emit(TokenType::kText, src_.substr(pos_), pos_);
        break;
      }
      const char kind = src_[start + 1];
      const char sign =
          start + 2 < src_.size() && (src_[start + 2] == '-' || src_[start + 2] == '+') ? src_[start + 2] : '\0';
      std::string text = src_.substr(pos_, start - pos_);
      if (sign == '-') {
        while (!text.empty() && IsSpace(text.back())) text.pop_back();
      } else if (sign != '+' && kind != '{') {  // lstrip_blocks: blocks and comments, not {{ }}
        const size_t line_begin = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
        if ((line_begin > 0 || line_starting) && line_begin < text.size() &&
            text.find_first_not_of(" \t\v\f\r", line_begin) == std::string::npos) {
          text.resize(line_begin);
        }
      }
      Emit(TokenType::kText, text, pos_);
      pos_ = start + 2 + (sign ? 1 : 0);
      if (kind == '#') {
        TS_RETURN_IF_ERROR(Comment(start));
      } else if (kind == '%' && RawBegins()) {
        TS_RETURN_IF_ERROR(Raw(start));
      } else {
        TS_RETURN_IF_ERROR(Tag(kind == '{', start));
      }
      line_starting = pos_ > 0 && src_[pos_ - 1] == '\n';
    }
    Emit(TokenType::kEnd, "", src_.size());
    return std::move(tokens_);
  }

 private:
  void Position(size_t offset, int& line, int& column) const {
    const auto next_line = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    line = static_cast<int>(next_line - line_starts_.begin());
    column = static_cast<int>(offset - *(next_line - 1)) + 1;
  }

  Status Error(size_t offset, const std::string& message) const {
    int line, column;
    Position(offset, line, column);
    return InvalidArgument("chat template syntax error at " + Where(line, column) + ": " + message);
  }

  void Emit(TokenType type, std::string text, size_t offset) {
    if (type == TokenType::kText && text.empty()) return;
    Token t;
    t.type = type;
    t.text = std::move(text);
    Position(offset, t.line, t.column);
    tokens_.push_back(std::move(t));
  }

  // After a tag's end: -X} strips all whitespace, a block or comment's X} one newline (trim_blocks).
  void SkipAfterEnd(char sign, bool trim_newline) {
    if (sign == '-') {
      while (pos_ < src_.size() && IsSpace(src_[pos_])) ++pos_;
    } else if (sign != '+' && trim_newline && pos_ < src_.size() && src_[pos_] == '\n') {
      ++pos_;
    }
  }

  Status Comment(size_t start) {
    const size_t end = src_.find("#}", pos_);
    if (end == std::string::npos) return Error(start, "missing end of comment tag");
    const char sign = end > pos_ && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : '\0';
    pos_ = end + 2;
    SkipAfterEnd(sign, true);
    return Status::Ok();
  }

  // Whether the block tag opening at pos_ is `raw` alone; moves past its end when it is.
  bool RawBegins() {
    size_t p = pos_;
    while (p < src_.size() && IsSpace(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") != 0 || (p + 3 < src_.size() && IsNameChar(src_[p + 3]))) return false;
    p += 3;
    while (p < src_.size() && IsSpace(src_[p])) ++p;
    if (src_.compare(p, 3, "-%}") == 0) {
      pos_ = p + 3;
      SkipAfterEnd('-', false);
      return true;
    }
    if (src_.compare(p, 2, "%}") == 0) {
      pos_ = p + 2;  // jinja trims no newline after {% raw %}
      return true;
    }
    return false;
  }

  Status Raw(size_t start) {
    for (size_t p = src_.find("{%", pos_); p != std::string::npos; p = src_.find("{%", p + 2)) {
      size_t q = p + 2;
      const char sign = q < src_.size() && (src_[q] == '-' || src_[q] == '+') ? src_[q] : '\0';
      if (sign) ++q;
      while (q < src_.size() && IsSpace(src_[q])) ++q;
      if (src_.compare(q, 6, "endraw") != 0) continue;
      q += 6;
      while (q < src_.size() && IsSpace(src_[q])) ++q;
      const char end_sign = src_.compare(q, 3, "-%}") == 0 ? '-' : src_.compare(q, 3, "+%}") == 0 ? '+' : '\0';
      if (!end_sign && src_.compare(q, 2, "%}") != 0) continue;
      std::string text = src_.substr(pos_, p - pos_);
      if (sign == '-') {
        while (!text.empty() && IsSpace(text.back())) text.pop_back();
      }
      Emit(TokenType::kText, text, pos_);
      pos_ = q + (end_sign ? 3 : 2);
      SkipAfterEnd(end_sign, true);
      return Status::Ok();
    }
    return Error(start, "missing end of raw directive");
  }

  Status Tag(bool variable, size_t start) {
    Emit(variable ? TokenType::kVariableBegin : TokenType::kBlockBegin, "", start);
    std::string balance;  // closing brackets expected, innermost last
    const char* close = variable ? "}}" : "%}";
    while (true) {
      while (pos_ < src_.size() && IsSpace(src_[pos_])) ++pos_;
      if (pos_ >= src_.size())
        return Error(start, variable ? "unexpected end of template, expected '}}'"
                                     : "unexpected end of template, expected '%}'");
      if (balance.empty()) {
        for (char sign : {'-', '+', '\0'}) {
          if (sign == '+' && variable) continue;
          const std::string end = sign ? std::string(1, sign) + close : std::string(close);
          if (src_.compare(pos_, end.size(), end) != 0) continue;
          Emit(variable ? TokenType::kVariableEnd : TokenType::kBlockEnd, "", pos_);
          pos_ += end.size();
          SkipAfterEnd(sign, !variable);
          return Status::Ok();
        }
      }
      TS_RETURN_IF_ERROR(ExpressionToken(balance));
    }
  }

  Status ExpressionToken(std::string& balance) {
    const size_t begin = pos_;
    const char c = src_[pos_];
    if (IsDigit(c)) return Number();
    if (IsNameStart(c)) {
      while (pos_ < src_.size() && IsNameChar(src_[pos_])) ++pos_;
      Emit(TokenType::kName, src_.substr(begin, pos_ - begin), begin);
      return Status::Ok();
    }
    if (c == '\'' || c == '"') return String();
    static const char* kOperators[] = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[",
                                       "]",  "(",  ")",  "{",  "}",  ">",  "<", "=", ".", ":", "|", ",", ";"};
    for (const char* op : kOperators) {
      const size_t n = std::strlen(op);
      if (src_.compare(pos_, n, op) != 0) continue;
      if (n == 1 && std::strchr("([{", op[0])) balance += op[0] == '(' ? ')' : op[0] == '[' ? ']' : '}';
      if (n == 1 && std::strchr(")]}", op[0])) {
        if (balance.empty()) return Error(begin, std::string("unexpected '") + op + "'");
        if (balance.back() != op[0]) {
          return Error(begin, std::string("unexpected '") + op + "', expected '" + balance.back() + "'");
        }
        balance.pop_back();
      }
      pos_ += n;
      Emit(TokenType::kOperator, op, begin);
      return Status::Ok();
    }
    return Error(begin, std::string("unexpected char '") + c + "'");
  }

  // Digits with optional underscores between them.
  void Digits() {
    while (pos_ < src_.size() &&
           (IsDigit(src_[pos_]) || (src_[pos_] == '_' && pos_ + 1 < src_.size() && IsDigit(src_[pos_ + 1])))) {
      ++pos_;
    }
  }

  Status Number() {
    const size_t begin = pos_;
    Digits();
    bool is_float = false;
    if (pos_ + 1 < src_.size() && src_[pos_] == '.' && IsDigit(src_[pos_ + 1])) {
      ++pos_;
      Digits();
      is_float = true;
    }
    if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      size_t p = pos_ + 1;
      if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
      if (p < src_.size() && IsDigit(src_[p])) {
        pos_ = p;
        Digits();
        is_float = true;
      }
    }
    std::string digits;
    for (size_t i = begin; i < pos_; ++i) {
      if (src_[i] != '_') digits += src_[i];
    }
    Emit(is_float ? TokenType::kFloat : TokenType::kInt, digits, begin);
    return Status::Ok();
  }

  // A string literal with Python's escapes (\n, \t, \\, \', \", \xhh, \uhhhh, \Uhhhhhhhh, octal); an
  // unknown escape keeps its backslash, as Python's unicode-escape does.
  Status String() {
    const size_t begin = pos_;
    const char quote = src_[pos_++];
    std::string value;
    while (true) {
      if (pos_ >= src_.size()) return Error(begin, "unterminated string");
      const char c = src_[pos_++];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        continue;
      }
      if (pos_ >= src_.size()) return Error(begin, "unterminated string");
      const char e = src_[pos_++];
      switch (e) {
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        case 'r':
          value += '\r';
          break;
        case 'b':
          value += '\b';
          break;
        case 'f':
          value += '\f';
          break;
        case 'v':
          value += '\v';
          break;
        case 'a':
          value += '\a';
          break;
        case '\\':
          value += '\\';
          break;
        case '\'':
          value += '\'';
          break;
        case '"':
          value += '"';
          break;
        case '\n':
          break;
        case 'x':
        case 'u':
        case 'U': {
          const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (pos_ + n > src_.size()) return Error(pos_ - 2, "truncated \\" + std::string(1, e) + " escape");
          uint32_t cp = 0;
          for (size_t i = 0; i < n; ++i) {
            const char h = src_[pos_ + i];
            if (!std::isxdigit(static_cast<unsigned char>(h))) {
              return Error(pos_ - 2, "truncated \\" + std::string(1, e) + " escape");
            }
            cp = cp * 16 + static_cast<uint32_t>(
                               std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
          }
          if (cp > 0x10ffff) return Error(pos_ - 2, "illegal Unicode character in escape");
          pos_ += n;
          AppendUtf8(cp, value);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int i = 0; i < 2 && pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '7'; ++i) {
              cp = cp * 8 + static_cast<uint32_t>(src_[pos_++] - '0');
            }
            AppendUtf8(cp, value);
          } else {
            value += '\\';
            value += e;
          }
      }
    }
    Emit(TokenType::kString, value, begin);
    return Status::Ok();
  }

  std::string src_;
  std::vector<size_t> line_starts_;  // offset of each line's first byte
  size_t pos_ = 0;
  std::vector<Token> tokens_;
};

}  // namespace

StatusOr<std::vector<Token>> Tokenize(const std::string& source) { return Lexer(Normalize(source)).Run(); }

}  // namespace tessera::generate::chat_template
