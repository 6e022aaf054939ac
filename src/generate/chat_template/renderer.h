// Renderer: walks a parsed template over a context of variables and returns the text it produces.
//
// Scoping is jinja2's: `{% set %}` assigns in the current scope; each for-loop iteration has a fresh
// scope (a value set inside a loop is gone after it, hence namespace()); a macro's body sees its
// arguments and the scope it was defined in. The globals range(), namespace() and dict() are built in;
// the caller adds its own (Hugging Face's raise_exception and strftime_now) to the context.
//
// A template cannot run away: loops and macro calls share a budget of steps, macro calls nest at most
// 32 deep and the output has a size limit (RenderLimits); past any of these rendering fails.
#pragma once

#include <string>

#include "generate/chat_template/ast.h"

namespace tessera::generate::chat_template {

struct RenderLimits {
  int64_t steps = 10'000'000;  // loop iterations and macro calls
  size_t output_bytes = size_t{64} << 20;
};

// InvalidArgument naming the line and column where rendering failed (an undefined value used, a type
// error, an unknown method, a raised exception, ...).
StatusOr<std::string> Render(const Body& body, const ValueDict& context, const RenderLimits& limits = {});

}  // namespace tessera::generate::chat_template
