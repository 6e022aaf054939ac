// jinja2's filters (`value | name(args)`), with Hugging Face's tojson: abs, capitalize, count, d/default,
// e/escape, first, float, indent, int, items, join, last, length, list, lower, map, max, min, reject,
// rejectattr, replace, reverse, safe (the identity: nothing is escaped), select, selectattr, sort,
// string, sum, title, tojson, trim, unique, upper.
#pragma once

#include <string>

#include "generate/chat_template/value.h"

namespace tessera::generate::chat_template {

bool IsFilter(const std::string& name);
// InvalidArgument for wrong arguments or a value the filter does not take.
StatusOr<Value> ApplyFilter(const std::string& name, const Value& v, const CallArgs& args);

}  // namespace tessera::generate::chat_template
