// jinja2's tests (`x is name`, `x is not name(args)`): defined, undefined, none, string, number, integer,
// float, boolean, true, false, mapping, iterable, sequence, callable, even, odd, divisibleby, lower,
// upper, sameas, in, and the comparisons eq/equalto/==, ne/!=, lt/lessthan/<, le/<=, gt/greaterthan/>,
// ge/>=.
#pragma once

#include <string>

#include "generate/chat_template/value.h"

namespace tessera::generate::chat_template {

bool IsTest(const std::string& name);
// InvalidArgument for an unknown test, wrong arguments, or a test the value's type does not take.
StatusOr<bool> ApplyTest(const std::string& name, const Value& v, const CallArgs& args);

}  // namespace tessera::generate::chat_template
