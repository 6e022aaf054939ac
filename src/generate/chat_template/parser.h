// Parser: tokens → statements. Supported tags: if/elif/else, for (with `if` filter, else, loop.*), set
// (names, tuples, `ns.attr`, and the block form up to endset), macro, break/continue, and Hugging Face's
// generation block (rendered as its body). Other jinja tags (include, extends, block, call, filter, with,
// import) are a syntax error that names the tag: chat templates are one file and do not use them.
#pragma once

#include <vector>

#include "generate/chat_template/ast.h"
#include "generate/chat_template/lexer.h"

namespace tessera::generate::chat_template {

// InvalidArgument with the line and column of the first syntax error.
StatusOr<Body> ParseTemplate(const std::vector<Token>& tokens);

}  // namespace tessera::generate::chat_template
