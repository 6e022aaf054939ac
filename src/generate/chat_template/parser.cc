// The statement grammar (parser.h); expressions are expression_parser.h's.
#include "generate/chat_template/parser.h"

#include <algorithm>
#include <initializer_list>

#include "generate/chat_template/expression_parser.h"

namespace tessera::generate::chat_template {

namespace {

class StatementParser {
 public:
  explicit StatementParser(const std::vector<Token>& tokens) : in_(tokens) {}

  StatusOr<Body> Run() {
    TS_ASSIGN_OR_RETURN(Body body, ParseBody({}));
    if (in_.current().type != TokenType::kEnd) return in_.Error("unexpected " + Describe());
    return body;
  }

 private:
  std::string Describe() const { return TokenCursor::Describe(in_.current()); }

  // Statements up to a block tag named in `stops` (the cursor is then on that name) or the end.
  StatusOr<Body> ParseBody(std::initializer_list<const char*> stops) {
    Body body;
    while (true) {
      const Token& t = in_.current();
      if (t.type == TokenType::kEnd) {
        if (stops.size() == 0) return body;
        return in_.Error("unexpected end of template, expected '" + std::string(*stops.begin()) +
                         (stops.size() > 1 ? "' or '" + std::string(*(stops.end() - 1)) : "") + "'");
      }
      if (t.type == TokenType::kText) {
        Node n = At(Node::Kind::kText, t);
        n.text = t.text;
        body.push_back(std::move(n));
        in_.Next();
      } else if (t.type == TokenType::kVariableBegin) {
        Node n = At(Node::Kind::kOutput, t);
        in_.Next();
        TS_ASSIGN_OR_RETURN(n.expr, ParseTuple(in_));
        if (in_.current().type != TokenType::kVariableEnd) return in_.Error("expected '}}', got " + Describe());
        in_.Next();
        body.push_back(std::move(n));
      } else if (t.type == TokenType::kBlockBegin) {
        in_.Next();
        const Token& name = in_.current();
        if (name.type != TokenType::kName) return in_.Error("expected a statement name, got " + Describe());
        if (std::any_of(stops.begin(), stops.end(), [&](const char* s) { return name.text == s; })) return body;
        TS_ASSIGN_OR_RETURN(Node n, ParseStatement());
        body.push_back(std::move(n));
      } else {
        return in_.Error("unexpected " + Describe());
      }
    }
  }

  static Node At(Node::Kind kind, const Token& t) {
    Node n;
    n.kind = kind;
    n.line = t.line;
    n.column = t.column;
    return n;
  }

  // The cursor is on the end tag's name.
  Status EndTag() {
    in_.Next();
    return in_.ExpectBlockEnd();
  }

  StatusOr<Node> ParseStatement() {
    TokenCursor::Nesting nesting(in_);
    TS_RETURN_IF_ERROR(nesting.Check());
    const Token t = in_.current();
    in_.Next();
    if (t.text == "if") return ParseIf(t);
    if (t.text == "for") return ParseFor(t);
    if (t.text == "set") return ParseSet(t);
    if (t.text == "macro") return ParseMacro(t);
    if (t.text == "break" || t.text == "continue") {
      if (loop_depth_ == 0) {
        return InvalidArgument("chat template syntax error at " + Where(t.line, t.column) + ": '" + t.text +
                               "' outside of a loop");
      }
      TS_RETURN_IF_ERROR(in_.ExpectBlockEnd());
      return At(t.text == "break" ? Node::Kind::kBreak : Node::Kind::kContinue, t);
    }
    if (t.text == "generation") {
      Node n = At(Node::Kind::kScope, t);
      TS_RETURN_IF_ERROR(in_.ExpectBlockEnd());
      TS_ASSIGN_OR_RETURN(Body body, ParseBody({"endgeneration"}));
      n.bodies.push_back(std::move(body));
      TS_RETURN_IF_ERROR(EndTag());
      return n;
    }
    const std::string where = "chat template syntax error at " + Where(t.line, t.column) + ": ";
    for (const char* known :
         {"include", "extends", "block", "call", "filter", "with", "import", "from", "autoescape"}) {
      if (t.text == known) return InvalidArgument(where + "the '" + t.text + "' tag is not supported");
    }
    return InvalidArgument(where + "unknown tag '" + t.text + "'");
  }

  StatusOr<Node> ParseIf(const Token& t) {
    Node n = At(Node::Kind::kIf, t);
    while (true) {
      TS_ASSIGN_OR_RETURN(ExprPtr condition, ParseTuple(in_));
      n.conditions.push_back(std::move(condition));
      TS_RETURN_IF_ERROR(in_.ExpectBlockEnd());
      TS_ASSIGN_OR_RETURN(Body body, ParseBody({"elif", "else", "endif"}));
      n.bodies.push_back(std::move(body));
      if (in_.SkipName("elif")) continue;
      if (in_.SkipName("else")) {
        TS_RETURN_IF_ERROR(in_.ExpectBlockEnd());
        TS_ASSIGN_OR_RETURN(Body otherwise, ParseBody({"endif"}));
        n.bodies.push_back(std::move(otherwise));
      }
      TS_RETURN_IF_ERROR(EndTag());
      return n;
    }
  }

  // Names separated by commas, optionally in parentheses; or name.attr when attributes are allowed.
  StatusOr<AssignTarget> ParseTarget(bool allow_attribute) {
    AssignTarget target;
    const bool parenthesized = in_.SkipOperator("(");
    do {
      if (in_.current().type != TokenType::kName) return in_.Error("expected a name to assign to, got " + Describe());
      target.names.push_back(in_.current().text);
      in_.Next();
      if (allow_attribute && target.names.size() == 1 && in_.SkipOperator(".")) {
        if (in_.current().type != TokenType::kName) return in_.Error("expected an attribute name after '.'");
        target.attribute = in_.current().text;
        in_.Next();
        break;
      }
    } while (in_.SkipOperator(",") && in_.current().type == TokenType::kName);
    if (parenthesized) TS_RETURN_IF_ERROR(in_.ExpectOperator(")"));
    return target;
  }

  StatusOr<Node> ParseFor(const Token& t) {
    Node n = At(Node::Kind::kFor, t);
    TS_ASSIGN_OR_RETURN(n.target, ParseTarget(false));
    if (!in_.SkipName("in")) return in_.Error("expected 'in' in the for loop, got " + Describe());
    TS_ASSIGN_OR_RETURN(n.expr, ParseTuple(in_, /*with_conditional=*/false));
    if (in_.SkipName("if")) {
      TS_ASSIGN_OR_RETURN(ExprPtr filter, ParseExpression(in_));
      n.conditions.push_back(std::move(filter));
    }
    if (in_.IsName("recursive")) return in_.Error("recursive for loops are not supported");
    TS_RETURN_IF_ERROR(in_.ExpectBlockEnd());
    ++loop_depth_;
    auto body = ParseBody({"endfor", "else"});
    --loop_depth_;
    if (!body.ok()) return body.status();
    n.bodies.push_back(std::move(*body));
    if (in_.SkipName("else")) {
      TS_RETURN_IF_ERROR(in_.ExpectBlockEnd());
      TS_ASSIGN_OR_RETURN(Body otherwise, ParseBody({"endfor"}));
      n.bodies.push_back(std::move(otherwise));
    }
    TS_RETURN_IF_ERROR(EndTag());
    return n;
  }

  StatusOr<Node> ParseSet(const Token& t) {
    Node n = At(Node::Kind::kSet, t);
    TS_ASSIGN_OR_RETURN(n.target, ParseTarget(true));
    if (in_.SkipOperator("=")) {
      TS_ASSIGN_OR_RETURN(n.expr, ParseTuple(in_));
      TS_RETURN_IF_ERROR(in_.ExpectBlockEnd());
      return n;
    }
    if (n.target.names.size() != 1 || !n.target.attribute.empty()) {
      return in_.Error("expected '=' after the names to set");
    }
    n.kind = Node::Kind::kSetBlock;
    TS_RETURN_IF_ERROR(in_.ExpectBlockEnd());
    TS_ASSIGN_OR_RETURN(Body body, ParseBody({"endset"}));
    n.bodies.push_back(std::move(body));
    TS_RETURN_IF_ERROR(EndTag());
    return n;
  }

  StatusOr<Node> ParseMacro(const Token& t) {
    Node n = At(Node::Kind::kMacro, t);
    if (in_.current().type != TokenType::kName) return in_.Error("expected the macro's name, got " + Describe());
    n.text = in_.current().text;
    in_.Next();
    TS_RETURN_IF_ERROR(in_.ExpectOperator("("));
    for (bool first = true; !in_.IsOperator(")"); first = false) {
      if (!first) TS_RETURN_IF_ERROR(in_.ExpectOperator(","));
      if (in_.current().type != TokenType::kName) return in_.Error("expected a parameter name, got " + Describe());
      MacroParameter p;
      p.name = in_.current().text;
      in_.Next();
      if (in_.SkipOperator("=")) {
        TS_ASSIGN_OR_RETURN(p.default_value, ParseExpression(in_));
      } else if (!n.parameters.empty() && n.parameters.back().default_value) {
        return in_.Error("parameter '" + p.name + "' without a default follows one with a default");
      }
      n.parameters.push_back(std::move(p));
    }
    in_.Next();
    TS_RETURN_IF_ERROR(in_.ExpectBlockEnd());
    const int outer_loops = loop_depth_;
    loop_depth_ = 0;  // a loop around the definition is not a loop around the macro's body
    auto body = ParseBody({"endmacro"});
    loop_depth_ = outer_loops;
    if (!body.ok()) return body.status();
    n.bodies.push_back(std::move(*body));
    TS_RETURN_IF_ERROR(EndTag());
    return n;
  }

  TokenCursor in_;
  int loop_depth_ = 0;
};

}  // namespace

StatusOr<Body> ParseTemplate(const std::vector<Token>& tokens) { return StatementParser(tokens).Run(); }

}  // namespace tessera::generate::chat_template
