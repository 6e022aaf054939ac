// Expressions, parsed with jinja2's grammar and precedence, lowest first: `a if c else b`, or, and, not,
// comparisons (chained, `in`, `not in`), + -, ~, * / // %, **, unary - +, then postfix .attr [index]
// [a:b:c] (call) and, binding tighter than any operator, | filter and `is` test.
#pragma once

#include "generate/chat_template/ast.h"
#include "generate/chat_template/token_cursor.h"

namespace tessera::generate::chat_template {

// An expression; with_conditional false leaves a trailing `if` to the caller (a for loop's filter).
StatusOr<ExprPtr> ParseExpression(TokenCursor& in, bool with_conditional = true);
// An expression, or several separated by commas as one tuple (a list).
StatusOr<ExprPtr> ParseTuple(TokenCursor& in, bool with_conditional = true);

}  // namespace tessera::generate::chat_template
