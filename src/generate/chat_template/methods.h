// The Python methods templates call on values: str (strip, lstrip, rstrip, split, rsplit, splitlines,
// startswith, endswith, upper, lower, title, capitalize, replace, find, count, join, format is not), dict
// (items, keys, values, get) and list (index, count). Methods that change a value (list.append,
// dict.update) are refused, as in jinja2's immutable sandbox Hugging Face renders with.
#pragma once

#include <string>

#include "generate/chat_template/value.h"

namespace tessera::generate::chat_template {

bool HasMethod(const Value& obj, const std::string& name);
// InvalidArgument for wrong arguments, or a method that does not exist for the object's type.
StatusOr<Value> CallMethod(const Value& obj, const std::string& name, CallArgs& args);

}  // namespace tessera::generate::chat_template
