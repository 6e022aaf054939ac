// Python's operators on template values, and jinja2's attribute and item access.
#pragma once

#include <string>

#include "generate/chat_template/value.h"

namespace tessera::generate::chat_template {

// + - * / // % ** (and ~, jinja's string concatenation). InvalidArgument for types the operator does not
// take, division by zero, int64 overflow, or an undefined operand (with its reason).
StatusOr<Value> BinaryOperation(const std::string& op, const Value& a, const Value& b);
StatusOr<Value> Negate(const Value& v);
// `needle in haystack`: a substring, a list item, a dict key.
StatusOr<bool> Contains(const Value& haystack, const Value& needle);

// `obj.name`: a method of the object, else its item `name`; undefined when there is none (an error only
// when `obj` itself is undefined).
StatusOr<Value> GetAttribute(const Value& obj, const std::string& name);
// `obj[key]`: a dict's item, a list's or a string's element (negative counts from the end), else the
// attribute when `key` is a string; undefined when there is none.
StatusOr<Value> GetItem(const Value& obj, const Value& key);
// `obj[start:stop:step]` on a list or string; a null bound is absent.
StatusOr<Value> GetSlice(const Value& obj, const Value* start, const Value* stop, const Value* step);

// The items a for loop visits: a list's items, a dict's keys, a string's characters; none for undefined.
StatusOr<ValueList> Iterate(const Value& v);

}  // namespace tessera::generate::chat_template
