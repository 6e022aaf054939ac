// The expression grammar (expression_parser.h), one function per precedence level as jinja2 has them.
#include "generate/chat_template/expression_parser.h"

#include <cerrno>
#include <cstdlib>

#include "generate/chat_template/filters.h"
#include "generate/chat_template/predicates.h"

namespace tessera::generate::chat_template {

namespace {

ExprPtr NewExpr(Expr::Kind kind, const Token& at) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->line = at.line;
  e->column = at.column;
  return e;
}

ExprPtr Unary(Expr::Kind kind, const Token& at, ExprPtr operand) {
  ExprPtr e = NewExpr(kind, at);
  e->children.push_back(std::move(operand));
  return e;
}

ExprPtr Binary(const std::string& op, const Token& at, ExprPtr lhs, ExprPtr rhs) {
  ExprPtr e = NewExpr(Expr::Kind::kBinary, at);
  e->name = op;
  e->children.push_back(std::move(lhs));
  e->children.push_back(std::move(rhs));
  return e;
}

StatusOr<ExprPtr> ParseUnary(TokenCursor& in, bool with_filter);
StatusOr<ExprPtr> ParsePostfix(TokenCursor& in, ExprPtr node);

// Whether the current token can begin an expression (for tuples without parentheses).
bool StartsExpression(const TokenCursor& in) {
  const Token& t = in.current();
  if (t.type == TokenType::kName) return t.text != "in" && t.text != "if" && t.text != "else";
  if (t.type == TokenType::kString || t.type == TokenType::kInt || t.type == TokenType::kFloat) return true;
  return in.IsOperator("(") || in.IsOperator("[") || in.IsOperator("{") || in.IsOperator("-") || in.IsOperator("+");
}

// `(` already seen: positional arguments, then name=value keywords, up to `)`.
Status ParseCallArguments(TokenCursor& in, Expr& call) {
  for (bool first = true; !in.IsOperator(")"); first = false) {
    if (!first) {
      TS_RETURN_IF_ERROR(in.ExpectOperator(","));
      if (in.IsOperator(")")) break;  // a trailing comma
    }
    if (in.IsOperator("*")) return in.Error("*args and **kwargs in calls are not supported");
    if (in.current().type == TokenType::kName && in.peek().type == TokenType::kOperator && in.peek().text == "=") {
      std::string name = in.current().text;
      in.Next();
      in.Next();
      TS_ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(in));
      call.keywords.emplace_back(std::move(name), std::move(value));
    } else {
      if (!call.keywords.empty()) return in.Error("a positional argument follows a keyword argument");
      TS_ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(in));
      call.children.push_back(std::move(value));
    }
  }
  return in.ExpectOperator(")");
}

StatusOr<std::string> DottedName(TokenCursor& in) {
  if (in.current().type != TokenType::kName)
    return in.Error("expected a name, got " + TokenCursor::Describe(in.current()));
  std::string name = in.current().text;
  in.Next();
  while (in.IsOperator(".") && in.peek().type == TokenType::kName) {
    in.Next();
    name += "." + in.current().text;
    in.Next();
  }
  return name;
}

StatusOr<ExprPtr> ParseFilter(TokenCursor& in, ExprPtr operand) {
  const Token at = in.current();
  TS_ASSIGN_OR_RETURN(std::string name, DottedName(in));
  if (!IsFilter(name)) {
    return InvalidArgument("chat template syntax error at " + Where(at.line, at.column) + ": no filter named '" + name +
                           "'");
  }
  ExprPtr e = NewExpr(Expr::Kind::kFilter, at);
  e->name = name;
  e->children.push_back(std::move(operand));
  if (in.SkipOperator("(")) TS_RETURN_IF_ERROR(ParseCallArguments(in, *e));
  return e;
}

StatusOr<ExprPtr> ParseTest(TokenCursor& in, ExprPtr operand) {
  const bool negated = in.SkipName("not");
  const Token at = in.current();
  TS_ASSIGN_OR_RETURN(std::string name, DottedName(in));
  if (!IsTest(name)) {
    return InvalidArgument("chat template syntax error at " + Where(at.line, at.column) + ": no test named '" + name +
                           "'");
  }
  ExprPtr e = NewExpr(Expr::Kind::kTest, at);
  e->name = name;
  e->negated = negated;
  e->children.push_back(std::move(operand));
  const Token& t = in.current();
  if (in.SkipOperator("(")) {
    TS_RETURN_IF_ERROR(ParseCallArguments(in, *e));
  } else if ((t.type == TokenType::kName && t.text != "else" && t.text != "or" && t.text != "and") ||
             t.type == TokenType::kString || t.type == TokenType::kInt || t.type == TokenType::kFloat ||
             in.IsOperator("[") || in.IsOperator("{")) {
    // jinja's one argument without parentheses: `x is divisibleby 3`, `x is sameas none`
    TS_ASSIGN_OR_RETURN(ExprPtr arg, ParseUnary(in, false));
    e->children.push_back(std::move(arg));
  }
  return e;
}

StatusOr<ExprPtr> ParseFilterChain(TokenCursor& in, ExprPtr node) {
  while (true) {
    if (in.SkipOperator("|")) {
      TS_ASSIGN_OR_RETURN(node, ParseFilter(in, std::move(node)));
    } else if (in.SkipName("is")) {
      TS_ASSIGN_OR_RETURN(node, ParseTest(in, std::move(node)));
    } else if (in.IsOperator("(")) {
      TS_ASSIGN_OR_RETURN(node, ParsePostfix(in, std::move(node)));
    } else {
      return node;
    }
  }
}

StatusOr<ExprPtr> ParseSubscript(TokenCursor& in, ExprPtr object, const Token& at) {
  ExprPtr bounds[3];
  bool slice = false;
  for (int part = 0; part < 3; ++part) {
    if (!in.IsOperator(":") && !in.IsOperator("]")) {
      TS_ASSIGN_OR_RETURN(bounds[part], ParseExpression(in));
    }
    if (part == 2 || !in.SkipOperator(":")) break;
    slice = true;
  }
  TS_RETURN_IF_ERROR(in.ExpectOperator("]"));
  if (!slice && !bounds[0]) return in.Error("expected an index or a slice inside '[]'");
  ExprPtr e = NewExpr(slice ? Expr::Kind::kSlice : Expr::Kind::kSubscript, at);
  e->children.push_back(std::move(object));
  for (int part = 0; part < (slice ? 3 : 1); ++part) e->children.push_back(std::move(bounds[part]));
  return e;
}

StatusOr<ExprPtr> ParsePostfix(TokenCursor& in, ExprPtr node) {
  while (true) {
    const Token at = in.current();
    if (in.SkipOperator(".")) {
      if (in.current().type == TokenType::kName) {
        ExprPtr e = NewExpr(Expr::Kind::kAttribute, at);
        e->name = in.current().text;
        e->children.push_back(std::move(node));
        node = std::move(e);
      } else if (in.current().type == TokenType::kInt) {  // jinja's `x.0`: an index
        ExprPtr e = NewExpr(Expr::Kind::kSubscript, at);
        e->children.push_back(std::move(node));
        ExprPtr index = NewExpr(Expr::Kind::kLiteral, in.current());
        index->literal = Value::Int(std::strtoll(in.current().text.c_str(), nullptr, 10));
        e->children.push_back(std::move(index));
        node = std::move(e);
      } else {
        return in.Error("expected an attribute name after '.'");
      }
      in.Next();
    } else if (in.SkipOperator("[")) {
      TS_ASSIGN_OR_RETURN(node, ParseSubscript(in, std::move(node), at));
    } else if (in.SkipOperator("(")) {
      ExprPtr e = NewExpr(Expr::Kind::kCall, at);
      e->children.push_back(std::move(node));
      TS_RETURN_IF_ERROR(ParseCallArguments(in, *e));
      node = std::move(e);
    } else {
      return node;
    }
  }
}

StatusOr<ExprPtr> ParseCollection(TokenCursor& in, const Token& at, bool dict) {
  ExprPtr e = NewExpr(dict ? Expr::Kind::kDict : Expr::Kind::kList, at);
  const char* close = dict ? "}" : "]";
  while (!in.IsOperator(close)) {
    if (!e->children.empty()) {
      TS_RETURN_IF_ERROR(in.ExpectOperator(","));
      if (in.IsOperator(close)) break;
    }
    TS_ASSIGN_OR_RETURN(ExprPtr item, ParseExpression(in));
    e->children.push_back(std::move(item));
    if (dict) {
      TS_RETURN_IF_ERROR(in.ExpectOperator(":"));
      TS_ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(in));
      e->children.push_back(std::move(value));
    }
  }
  TS_RETURN_IF_ERROR(in.ExpectOperator(close));
  return e;
}

StatusOr<ExprPtr> ParsePrimary(TokenCursor& in) {
  const Token at = in.current();
  if (at.type == TokenType::kName) {
    in.Next();
    ExprPtr e = NewExpr(Expr::Kind::kLiteral, at);
    if (at.text == "true" || at.text == "True") {
      e->literal = Value::Bool(true);
    } else if (at.text == "false" || at.text == "False") {
      e->literal = Value::Bool(false);
    } else if (at.text == "none" || at.text == "None") {
      e->literal = Value::None();
    } else {
      e->kind = Expr::Kind::kName;
      e->name = at.text;
    }
    return e;
  }
  if (at.type == TokenType::kString) {
    std::string s;
    while (in.current().type == TokenType::kString) {  // adjacent literals join, as in Python
      s += in.current().text;
      in.Next();
    }
    ExprPtr e = NewExpr(Expr::Kind::kLiteral, at);
    e->literal = Value::String(std::move(s));
    return e;
  }
  if (at.type == TokenType::kInt || at.type == TokenType::kFloat) {
    in.Next();
    ExprPtr e = NewExpr(Expr::Kind::kLiteral, at);
    if (at.type == TokenType::kFloat) {
      e->literal = Value::Float(std::strtod(at.text.c_str(), nullptr));
    } else {
      errno = 0;
      const long long i = std::strtoll(at.text.c_str(), nullptr, 10);
      if (errno == ERANGE) return in.Error("integer literal " + at.text + " is out of the 64-bit range");
      e->literal = Value::Int(i);
    }
    return e;
  }
  if (in.SkipOperator("(")) {
    if (in.SkipOperator(")")) {
      return NewExpr(Expr::Kind::kTuple, at);
    }
    TS_ASSIGN_OR_RETURN(ExprPtr e, ParseTuple(in));
    TS_RETURN_IF_ERROR(in.ExpectOperator(")"));
    return e;
  }
  if (in.SkipOperator("[")) return ParseCollection(in, at, false);
  if (in.SkipOperator("{")) return ParseCollection(in, at, true);
  return in.Error("unexpected " + TokenCursor::Describe(at));
}

StatusOr<ExprPtr> ParseUnary(TokenCursor& in, bool with_filter) {
  TokenCursor::Nesting nesting(in);
  TS_RETURN_IF_ERROR(nesting.Check());
  const Token at = in.current();
  ExprPtr node;
  if (in.SkipOperator("-")) {
    TS_ASSIGN_OR_RETURN(ExprPtr operand, ParseUnary(in, false));
    node = Unary(Expr::Kind::kNegate, at, std::move(operand));
  } else if (in.SkipOperator("+")) {
    TS_ASSIGN_OR_RETURN(ExprPtr operand, ParseUnary(in, false));
    node = Unary(Expr::Kind::kPlus, at, std::move(operand));
  } else {
    TS_ASSIGN_OR_RETURN(node, ParsePrimary(in));
  }
  TS_ASSIGN_OR_RETURN(node, ParsePostfix(in, std::move(node)));
  if (with_filter) {
    TS_ASSIGN_OR_RETURN(node, ParseFilterChain(in, std::move(node)));
  }
  return node;
}

StatusOr<ExprPtr> ParsePow(TokenCursor& in) {
  TS_ASSIGN_OR_RETURN(ExprPtr left, ParseUnary(in, true));
  while (in.IsOperator("**")) {
    const Token at = in.current();
    in.Next();
    TS_ASSIGN_OR_RETURN(ExprPtr right, ParseUnary(in, true));
    left = Binary("**", at, std::move(left), std::move(right));
  }
  return left;
}

StatusOr<ExprPtr> ParseMath2(TokenCursor& in) {
  TS_ASSIGN_OR_RETURN(ExprPtr left, ParsePow(in));
  while (in.IsOperator("*") || in.IsOperator("/") || in.IsOperator("//") || in.IsOperator("%")) {
    const Token at = in.current();
    in.Next();
    TS_ASSIGN_OR_RETURN(ExprPtr right, ParsePow(in));
    left = Binary(at.text, at, std::move(left), std::move(right));
  }
  return left;
}

StatusOr<ExprPtr> ParseConcat(TokenCursor& in) {
  TS_ASSIGN_OR_RETURN(ExprPtr left, ParseMath2(in));
  while (in.IsOperator("~")) {
    const Token at = in.current();
    in.Next();
    TS_ASSIGN_OR_RETURN(ExprPtr right, ParseMath2(in));
    left = Binary("~", at, std::move(left), std::move(right));
  }
  return left;
}

StatusOr<ExprPtr> ParseMath1(TokenCursor& in) {
  TS_ASSIGN_OR_RETURN(ExprPtr left, ParseConcat(in));
  while (in.IsOperator("+") || in.IsOperator("-")) {
    const Token at = in.current();
    in.Next();
    TS_ASSIGN_OR_RETURN(ExprPtr right, ParseConcat(in));
    left = Binary(at.text, at, std::move(left), std::move(right));
  }
  return left;
}

StatusOr<ExprPtr> ParseCompare(TokenCursor& in) {
  const Token at = in.current();
  TS_ASSIGN_OR_RETURN(ExprPtr first, ParseMath1(in));
  ExprPtr e;
  while (true) {
    std::string op;
    const Token& t = in.current();
    if (t.type == TokenType::kOperator &&
        (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == ">" || t.text == "<=" || t.text == ">=")) {
      op = t.text;
      in.Next();
    } else if (in.SkipName("in")) {
      op = "in";
    } else if (in.IsName("not") && in.peek().type == TokenType::kName && in.peek().text == "in") {
      in.Next();
      in.Next();
      op = "not in";
    } else {
      break;
    }
    if (!e) {
      e = NewExpr(Expr::Kind::kCompare, at);
      e->children.push_back(std::move(first));
    }
    TS_ASSIGN_OR_RETURN(ExprPtr next, ParseMath1(in));
    e->ops.push_back(op);
    e->children.push_back(std::move(next));
  }
  return e ? std::move(e) : std::move(first);
}

StatusOr<ExprPtr> ParseNot(TokenCursor& in) {
  const Token at = in.current();
  if (in.SkipName("not")) {
    TS_ASSIGN_OR_RETURN(ExprPtr operand, ParseNot(in));
    return Unary(Expr::Kind::kNot, at, std::move(operand));
  }
  return ParseCompare(in);
}

StatusOr<ExprPtr> ParseAnd(TokenCursor& in) {
  TS_ASSIGN_OR_RETURN(ExprPtr left, ParseNot(in));
  while (in.IsName("and")) {
    const Token at = in.current();
    in.Next();
    TS_ASSIGN_OR_RETURN(ExprPtr right, ParseNot(in));
    left = Binary("and", at, std::move(left), std::move(right));
  }
  return left;
}

StatusOr<ExprPtr> ParseOr(TokenCursor& in) {
  TS_ASSIGN_OR_RETURN(ExprPtr left, ParseAnd(in));
  while (in.IsName("or")) {
    const Token at = in.current();
    in.Next();
    TS_ASSIGN_OR_RETURN(ExprPtr right, ParseAnd(in));
    left = Binary("or", at, std::move(left), std::move(right));
  }
  return left;
}

}  // namespace

StatusOr<ExprPtr> ParseExpression(TokenCursor& in, bool with_conditional) {
  TS_ASSIGN_OR_RETURN(ExprPtr expr, ParseOr(in));
  if (!with_conditional) return expr;
  while (in.IsName("if")) {
    const Token at = in.current();
    in.Next();
    ExprPtr e = NewExpr(Expr::Kind::kConditional, at);
    TS_ASSIGN_OR_RETURN(ExprPtr condition, ParseOr(in));
    ExprPtr otherwise;
    if (in.SkipName("else")) {
      TS_ASSIGN_OR_RETURN(otherwise, ParseExpression(in));
    }
    e->children.push_back(std::move(expr));
    e->children.push_back(std::move(condition));
    e->children.push_back(std::move(otherwise));
    expr = std::move(e);
  }
  return expr;
}

StatusOr<ExprPtr> ParseTuple(TokenCursor& in, bool with_conditional) {
  const Token at = in.current();
  TS_ASSIGN_OR_RETURN(ExprPtr first, ParseExpression(in, with_conditional));
  if (!in.IsOperator(",")) return first;
  ExprPtr tuple = NewExpr(Expr::Kind::kTuple, at);
  tuple->children.push_back(std::move(first));
  while (in.SkipOperator(",")) {
    if (!StartsExpression(in)) break;
    TS_ASSIGN_OR_RETURN(ExprPtr item, ParseExpression(in, with_conditional));
    tuple->children.push_back(std::move(item));
  }
  return tuple;
}

}  // namespace tessera::generate::chat_template
