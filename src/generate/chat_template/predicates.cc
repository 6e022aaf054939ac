// Tests (predicates.h), with jinja2's meaning: `number` includes bools, `integer` does not; strings and
// dicts are sequences (they have a length and items).
#include "generate/chat_template/predicates.h"

#include <cmath>
#include <set>

#include "generate/chat_template/bound_args.h"
#include "generate/chat_template/operators.h"
#include "generate/chat_template/text_case.h"

namespace tessera::generate::chat_template {

namespace {

const std::set<std::string> kTests = {
    "defined",  "undefined", "none",     "string",   "number",   "integer",     "float", "boolean",     "true",
    "false",    "mapping",   "iterable", "sequence", "callable", "even",        "odd",   "divisibleby", "lower",
    "upper",    "sameas",    "in",       "eq",       "equalto",  "==",          "ne",    "!=",          "lt",
    "lessthan", "<",         "le",       "<=",       "gt",       "greaterthan", ">",     "ge",          ">="};

StatusOr<bool> Parity(const Value& v, int64_t divisor, bool want_zero) {
  if (v.is_int()) return (v.as_int() % divisor == 0) == want_zero;
  if (v.kind() == Value::Kind::kFloat) return (std::fmod(v.as_float(), static_cast<double>(divisor)) == 0) == want_zero;
  return InvalidArgument("the even/odd/divisibleby tests need a number, not " + TypeName(v));
}

StatusOr<bool> Comparison(const std::string& name, const Value& v, const Value& other) {
  if (name == "eq" || name == "equalto" || name == "==") return Equal(v, other);
  if (name == "ne" || name == "!=") return !Equal(v, other);
  if (v.is_undefined()) return InvalidArgument(v.as_string());
  TS_ASSIGN_OR_RETURN(int c, Compare(v, other, name));
  if (name == "lt" || name == "lessthan" || name == "<") return c < 0;
  if (name == "le" || name == "<=") return c <= 0;
  if (name == "gt" || name == "greaterthan" || name == ">") return c > 0;
  return c >= 0;
}

bool SameAs(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kNone:
    case Value::Kind::kUndefined:
      return true;
    case Value::Kind::kBool:
      return a.as_bool() == b.as_bool();
    case Value::Kind::kInt:
      return a.as_int() == b.as_int();
    case Value::Kind::kList:
      return &a.as_list() == &b.as_list();
    case Value::Kind::kDict:
    case Value::Kind::kNamespace:
      return &a.as_dict() == &b.as_dict();
    case Value::Kind::kCallable:
      return &a.as_callable() == &b.as_callable();
    default:
      return false;  // strings and floats: distinct objects in Python unless interned
  }
}

}  // namespace

bool IsTest(const std::string& name) { return kTests.count(name) > 0; }

StatusOr<bool> ApplyTest(const std::string& name, const Value& v, const CallArgs& args) {
  const Value::Kind k = v.kind();
  static const std::set<std::string> kWithArgument = {"divisibleby", "sameas", "in",       "eq", "equalto", "==", "ne",
                                                      "!=",          "lt",     "lessthan", "<",  "le",      "<=", "gt",
                                                      "greaterthan", ">",      "ge",       ">="};
  if (kWithArgument.count(name)) {
    TS_ASSIGN_OR_RETURN(BoundArgs a, BoundArgs::Bind(name, args, {"other"}, 1));
    const Value& other = *a.Get(0);
    if (name == "divisibleby") {
      if (!other.is_int() || other.as_int() == 0) return InvalidArgument("divisibleby needs a non-zero integer");
      return Parity(v, other.as_int(), true);
    }
    if (name == "sameas") return SameAs(v, other);
    if (name == "in") return Contains(other, v);
    return Comparison(name, v, other);
  }
  TS_RETURN_IF_ERROR(BoundArgs::Bind(name, args, {}, 0).status());
  if (name == "defined") return k != Value::Kind::kUndefined;
  if (name == "undefined") return k == Value::Kind::kUndefined;
  if (name == "none") return k == Value::Kind::kNone;
  if (name == "string") return k == Value::Kind::kString;
  if (name == "number") return v.is_number();
  if (name == "integer") return k == Value::Kind::kInt;
  if (name == "float") return k == Value::Kind::kFloat;
  if (name == "boolean") return k == Value::Kind::kBool;
  if (name == "true") return k == Value::Kind::kBool && v.as_bool();
  if (name == "false") return k == Value::Kind::kBool && !v.as_bool();
  if (name == "mapping") return k == Value::Kind::kDict;
  if (name == "iterable")
    return k == Value::Kind::kList || k == Value::Kind::kDict || k == Value::Kind::kString ||
           k == Value::Kind::kUndefined;
  if (name == "sequence")
    return k == Value::Kind::kList || k == Value::Kind::kDict || k == Value::Kind::kString ||
           k == Value::Kind::kUndefined;
  if (name == "callable") return k == Value::Kind::kCallable;
  if (name == "even") return Parity(v, 2, true);
  if (name == "odd") return Parity(v, 2, false);
  const std::string s = ToStr(v);
  if (name == "lower") return ToLower(s) == s && ToUpper(s) != s;
  if (name == "upper") return ToUpper(s) == s && ToLower(s) != s;
  return InvalidArgument("no test named '" + name + "'");
}

}  // namespace tessera::generate::chat_template
