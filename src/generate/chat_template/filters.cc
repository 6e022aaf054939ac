// Filters (filters.h). String filters read their input as jinja's soft_str does: str(value), undefined
// as "".
#include "generate/chat_template/filters.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>

#include "generate/chat_template/bound_args.h"
#include "generate/chat_template/methods.h"
#include "generate/chat_template/operators.h"
#include "generate/chat_template/predicates.h"
#include "generate/chat_template/text_case.h"

namespace tessera::generate::chat_template {

namespace {

const std::set<std::string> kFilters = {
    "abs",    "capitalize", "count",  "d",          "default", "e",       "escape", "first",  "float",
    "indent", "int",        "items",  "join",       "last",    "length",  "list",   "lower",  "map",
    "max",    "min",        "reject", "rejectattr", "replace", "reverse", "safe",   "select", "selectattr",
    "sort",   "string",     "sum",    "title",      "tojson",  "trim",    "unique", "upper"};

// jinja's attribute getter: "a.b.0" reads item a, then b, then index 0.
StatusOr<Value> Attribute(const Value& item, const std::string& path) {
  Value v = item;
  size_t begin = 0;
  while (true) {
    const size_t dot = path.find('.', begin);
    const std::string part = path.substr(begin, dot == std::string::npos ? std::string::npos : dot - begin);
    const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    TS_ASSIGN_OR_RETURN(v, GetItem(v, digits ? Value::Int(std::atoll(part.c_str())) : Value::String(part)));
    if (dot == std::string::npos) return v;
    begin = dot + 1;
  }
}

StatusOr<std::string> AttributeName(const std::string& filter, const Value* v) {
  if (!v->is_string()) return InvalidArgument(filter + ": the attribute must be a string");
  return v->as_string();
}

StatusOr<Value> Length(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return Value::Int(0);
    case Value::Kind::kString:
      return Value::Int(static_cast<int64_t>(CodePoints(v.as_string()).size()));
    case Value::Kind::kList:
      return Value::Int(static_cast<int64_t>(v.as_list().size()));
    case Value::Kind::kDict:
      return Value::Int(static_cast<int64_t>(v.as_dict().entries.size()));
    default:
      return InvalidArgument("object of type '" + TypeName(v) + "' has no len()");
  }
}

StatusOr<Value> ToInt(const Value& v, const BoundArgs& a) {
  const Value fallback = a.Has(0) ? *a.Get(0) : Value::Int(0);
  const int base = a.Has(1) && a.Get(1)->is_int() ? static_cast<int>(a.Get(1)->as_int()) : 10;
  if (v.is_int()) return Value::Int(v.as_int());
  if (v.kind() == Value::Kind::kFloat) {
    if (!std::isfinite(v.as_float()) || std::fabs(v.as_float()) > 9.2e18) return fallback;
    return Value::Int(static_cast<int64_t>(v.as_float()));
  }
  if (!v.is_string()) return fallback;
  std::string s;
  for (char c : v.as_string()) {
    if (c != '_') s += c;
  }
  const char* begin = s.c_str();
  char* end = nullptr;
  errno = 0;
  const long long i = std::strtoll(begin, &end, base);
  while (end && *end && IsPythonSpace(static_cast<unsigned char>(*end))) ++end;
  if (end != begin && end && *end == '\0' && errno == 0) return Value::Int(i);
  const double f = std::strtod(begin, &end);
  while (end && *end && IsPythonSpace(static_cast<unsigned char>(*end))) ++end;
  if (end != begin && end && *end == '\0' && std::isfinite(f) && std::fabs(f) < 9.2e18) {
    return Value::Int(static_cast<int64_t>(f));
  }
  return fallback;
}

StatusOr<Value> ToFloat(const Value& v, const BoundArgs& a) {
  const Value fallback = a.Has(0) ? *a.Get(0) : Value::Float(0);
  if (v.is_number()) return Value::Float(v.as_float());
  if (!v.is_string()) return fallback;
  const char* begin = v.as_string().c_str();
  char* end = nullptr;
  const double f = std::strtod(begin, &end);
  while (end && *end && IsPythonSpace(static_cast<unsigned char>(*end))) ++end;
  return end != begin && end && *end == '\0' ? Value::Float(f) : fallback;
}

std::string Indent(std::string s, const BoundArgs& a) {
  std::string indention = "    ";
  if (a.Has(0))
    indention =
        a.Get(0)->is_string()
            ? a.Get(0)->as_string()
            : std::string(static_cast<size_t>(std::max<int64_t>(0, a.Get(0)->is_int() ? a.Get(0)->as_int() : 4)), ' ');
  const bool first = a.Has(1) && Truthy(*a.Get(1));
  const bool blank = a.Has(2) && Truthy(*a.Get(2));
  s += "\n";  // jinja's quirk: a trailing newline is kept as an empty last line
  CallArgs none;
  auto lines = CallMethod(Value::String(s), "splitlines", none);
  std::string out;
  const ValueList& list = lines->as_list();
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string& line = list[i].as_string();
    if (i) out += "\n";
    out += (i > 0 && (blank || !line.empty())) ? indention + line : line;
  }
  return first ? indention + out : out;
}

// Hugging Face's tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
StatusOr<Value> ToJsonFilter(const Value& v, const BoundArgs& a) {
  const bool ensure_ascii = a.Has(0) && Truthy(*a.Get(0));
  int indent = -1;
  if (a.Has(1) && !a.Get(1)->is_none()) {
    if (!a.Get(1)->is_int()) return InvalidArgument("tojson: indent must be an integer");
    indent = static_cast<int>(std::clamp<int64_t>(a.Get(1)->as_int(), 0, 64));
  }
  if (a.Has(2) && !a.Get(2)->is_none()) return InvalidArgument("tojson: separators are not supported");
  TS_ASSIGN_OR_RETURN(std::string json, ToJson(v, indent, a.Has(3) && Truthy(*a.Get(3))));
  if (!ensure_ascii) return Value::String(std::move(json));
  std::string out;
  for (size_t pos = 0; pos < json.size();) {
    uint32_t c = NextCodePoint(json, pos);
    if (c < 0x80) {
      out += static_cast<char>(c);
      continue;
    }
    char buf[16];
    if (c >= 0x10000) {
      c -= 0x10000;
      std::snprintf(buf, sizeof(buf), "\\u%04x\\u%04x", 0xd800 + (c >> 10), 0xdc00 + (c & 0x3ff));
    } else {
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
    }
    out += buf;
  }
  return Value::String(std::move(out));
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// jinja's title filter: each run after a space, '-', or an opening bracket starts upper-cased.
std::string TitleFilter(const std::string& s) {
  std::string out;
  bool word_start = true;
  for (size_t pos = 0; pos < s.size();) {
    const size_t at = pos;
    const uint32_t c = NextCodePoint(s, pos);
    const bool separator = IsPythonSpace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    const std::string ch = s.substr(at, pos - at);
    out += separator ? ch : word_start ? ToUpper(ch) : ToLower(ch);
    word_start = separator;
  }
  return out;
}

// select/reject/selectattr/rejectattr: the items whose (attribute's) test is true (select) or false.
StatusOr<Value> Select(const std::string& name, const Value& v, const CallArgs& args) {
  const bool by_attribute = name == "selectattr" || name == "rejectattr";
  const bool keep = name == "select" || name == "selectattr";
  size_t next = 0;
  std::string attribute;
  if (by_attribute) {
    if (args.positional.empty()) return InvalidArgument(name + "() needs the attribute name");
    TS_ASSIGN_OR_RETURN(attribute, AttributeName(name, &args.positional[0]));
    next = 1;
  }
  std::string test;
  if (next < args.positional.size()) {
    if (!args.positional[next].is_string()) return InvalidArgument(name + "(): the test name must be a string");
    test = args.positional[next].as_string();
    if (!IsTest(test)) return InvalidArgument(name + "(): no test named '" + test + "'");
    ++next;
  }
  CallArgs test_args;
  test_args.positional.assign(args.positional.begin() + static_cast<std::ptrdiff_t>(next), args.positional.end());
  TS_ASSIGN_OR_RETURN(ValueList items, Iterate(v));
  ValueList out;
  for (const Value& item : items) {
    Value subject = item;
    if (by_attribute) {
      TS_ASSIGN_OR_RETURN(subject, Attribute(item, attribute));
    }
    bool pass = Truthy(subject);
    if (!test.empty()) {
      TS_ASSIGN_OR_RETURN(pass, ApplyTest(test, subject, test_args));
    }
    if (pass == keep) out.push_back(item);
  }
  return Value::List(std::move(out));
}

StatusOr<Value> Map(const Value& v, const CallArgs& args) {
  TS_ASSIGN_OR_RETURN(ValueList items, Iterate(v));
  ValueList out;
  if (args.positional.empty()) {
    TS_ASSIGN_OR_RETURN(BoundArgs a, BoundArgs::Bind("map", args, {"attribute", "default"}, 1));
    TS_ASSIGN_OR_RETURN(std::string attribute, AttributeName("map", a.Get(0)));
    for (const Value& item : items) {
      TS_ASSIGN_OR_RETURN(Value x, Attribute(item, attribute));
      out.push_back(x.is_undefined() && a.Has(1) ? *a.Get(1) : x);
    }
    return Value::List(std::move(out));
  }
  if (!args.positional[0].is_string() || !IsFilter(args.positional[0].as_string())) {
    return InvalidArgument("map(): the first argument must name a filter");
  }
  CallArgs rest;
  rest.positional.assign(args.positional.begin() + 1, args.positional.end());
  rest.keyword = args.keyword;
  for (const Value& item : items) {
    TS_ASSIGN_OR_RETURN(Value x, ApplyFilter(args.positional[0].as_string(), item, rest));
    out.push_back(std::move(x));
  }
  return Value::List(std::move(out));
}

// The key sort, unique, min and max compare: the attribute if named, strings lower-cased unless
// case_sensitive.
StatusOr<Value> SortKey(const Value& item, const Value* attribute, bool case_sensitive) {
  Value key = item;
  if (attribute && !attribute->is_none()) {
    TS_ASSIGN_OR_RETURN(std::string path, AttributeName("sort", attribute));
    TS_ASSIGN_OR_RETURN(key, Attribute(item, path));
  }
  if (!case_sensitive && key.is_string()) key = Value::String(ToLower(key.as_string()));
  return key;
}

// sort(reverse, case_sensitive, attribute), unique(case_sensitive, attribute), min/max(case_sensitive,
// attribute).
StatusOr<Value> Ordered(const std::string& name, const Value& v, const CallArgs& args) {
  const bool sort = name == "sort";
  TS_ASSIGN_OR_RETURN(BoundArgs a, sort ? BoundArgs::Bind(name, args, {"reverse", "case_sensitive", "attribute"}, 0)
                                        : BoundArgs::Bind(name, args, {"case_sensitive", "attribute"}, 0));
  const bool reverse = sort && a.Has(0) && Truthy(*a.Get(0));
  const bool case_sensitive = a.Has(sort ? 1 : 0) && Truthy(*a.Get(sort ? 1 : 0));
  const Value* attribute = a.Get(sort ? 2 : 1);
  TS_ASSIGN_OR_RETURN(ValueList items, Iterate(v));
  std::vector<std::pair<Value, Value>> keyed;  // key, item
  for (const Value& item : items) {
    TS_ASSIGN_OR_RETURN(Value key, SortKey(item, attribute, case_sensitive));
    keyed.emplace_back(std::move(key), item);
  }
  if (name == "unique") {
    ValueList out;
    std::vector<Value> seen;
    for (auto& [key, item] : keyed) {
      if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return Equal(s, key); })) continue;
      seen.push_back(key);
      out.push_back(item);
    }
    return Value::List(std::move(out));
  }
  Status failure = Status::Ok();
  auto less = [&](const std::pair<Value, Value>& x, const std::pair<Value, Value>& y) {
    auto c = Compare(x.first, y.first, "<");
    if (!c.ok()) {
      failure = c.status();
      return false;
    }
    return *c < 0;
  };
  if (!sort) {
    if (keyed.empty()) return Value::Undefined("No aggregated item, sequence was empty.");
    auto it = name == "min" ? std::min_element(keyed.begin(), keyed.end(), less)
                            : std::max_element(keyed.begin(), keyed.end(), less);
    TS_RETURN_IF_ERROR(failure);
    return it->second;
  }
  if (reverse) {
    std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) { return less(y, x); });
  } else {
    std::stable_sort(keyed.begin(), keyed.end(), less);
  }
  TS_RETURN_IF_ERROR(failure);
  ValueList out;
  for (auto& [key, item] : keyed) out.push_back(std::move(item));
  return Value::List(std::move(out));
}

StatusOr<Value> FirstOrLast(const Value& v, bool first) {
  TS_ASSIGN_OR_RETURN(ValueList items, Iterate(v));
  if (items.empty())
    return Value::Undefined(first ? "No first item, sequence was empty." : "No last item, sequence was empty.");
  return first ? items.front() : items.back();
}

StatusOr<Value> StringFilter(const std::string& name, const Value& v, const CallArgs& args) {
  const std::string s = ToStr(v);
  if (name == "trim") {
    TS_ASSIGN_OR_RETURN(BoundArgs a, BoundArgs::Bind(name, args, {"chars"}, 0));
    CallArgs strip;
    if (a.Has(0)) strip.positional.push_back(*a.Get(0));
    return CallMethod(Value::String(s), "strip", strip);
  }
  if (name == "replace") {
    TS_ASSIGN_OR_RETURN(BoundArgs a, BoundArgs::Bind(name, args, {"old", "new", "count"}, 2));
    CallArgs replace;
    replace.positional = {*a.Get(0), *a.Get(1)};
    if (a.Has(2) && !a.Get(2)->is_none()) replace.positional.push_back(*a.Get(2));
    return CallMethod(Value::String(s), "replace", replace);
  }
  if (name == "indent") {
    TS_ASSIGN_OR_RETURN(BoundArgs a, BoundArgs::Bind(name, args, {"width", "first", "blank"}, 0));
    return Value::String(Indent(s, a));
  }
  TS_RETURN_IF_ERROR(BoundArgs::Bind(name, args, {}, 0).status());
  if (name == "upper") return Value::String(ToUpper(s));
  if (name == "lower") return Value::String(ToLower(s));
  if (name == "capitalize") return Value::String(Capitalize(s));
  if (name == "title") return Value::String(TitleFilter(s));
  if (name == "e" || name == "escape") return Value::String(Escape(s));
  return Value::String(s);  // string
}

}  // namespace

bool IsFilter(const std::string& name) { return kFilters.count(name) > 0; }

StatusOr<Value> ApplyFilter(const std::string& name, const Value& v, const CallArgs& args) {
  if (name == "length" || name == "count") {
    TS_RETURN_IF_ERROR(BoundArgs::Bind(name, args, {}, 0).status());
    return Length(v);
  }
  if (name == "default" || name == "d") {
    TS_ASSIGN_OR_RETURN(BoundArgs a, BoundArgs::Bind(name, args, {"default_value", "boolean"}, 0));
    const bool boolean = a.Has(1) && Truthy(*a.Get(1));
    if (v.is_undefined() || (boolean && !Truthy(v))) return a.Has(0) ? *a.Get(0) : Value::String("");
    return v;
  }
  if (name == "tojson") {
    TS_ASSIGN_OR_RETURN(BoundArgs a,
                        BoundArgs::Bind(name, args, {"ensure_ascii", "indent", "separators", "sort_keys"}, 0));
    return ToJsonFilter(v, a);
  }
  if (name == "join") {
    TS_ASSIGN_OR_RETURN(BoundArgs a, BoundArgs::Bind(name, args, {"d", "attribute"}, 0));
    TS_ASSIGN_OR_RETURN(ValueList items, Iterate(v));
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      Value item = items[i];
      if (a.Has(1) && !a.Get(1)->is_none()) {
        TS_ASSIGN_OR_RETURN(std::string path, AttributeName(name, a.Get(1)));
        TS_ASSIGN_OR_RETURN(item, Attribute(item, path));
      }
      if (i && a.Has(0)) out += ToStr(*a.Get(0));
      out += ToStr(item);
    }
    return Value::String(std::move(out));
  }
  if (name == "first" || name == "last") {
    TS_RETURN_IF_ERROR(BoundArgs::Bind(name, args, {}, 0).status());
    return FirstOrLast(v, name == "first");
  }
  if (name == "list") {
    TS_ASSIGN_OR_RETURN(ValueList items, Iterate(v));
    return Value::List(std::move(items));
  }
  if (name == "reverse") {
    if (v.is_string()) {
      std::vector<std::string> chars = CodePoints(v.as_string());
      std::string out;
      for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += *it;
      return Value::String(std::move(out));
    }
    TS_ASSIGN_OR_RETURN(ValueList items, Iterate(v));
    std::reverse(items.begin(), items.end());
    return Value::List(std::move(items));
  }
  if (name == "items") {
    if (v.is_undefined()) return Value::List({});
    if (v.kind() != Value::Kind::kDict) return InvalidArgument("items: expected a mapping, got " + TypeName(v));
    CallArgs none;
    return CallMethod(v, "items", none);
  }
  if (name == "int") {
    TS_ASSIGN_OR_RETURN(BoundArgs a, BoundArgs::Bind(name, args, {"default", "base"}, 0));
    return ToInt(v, a);
  }
  if (name == "float") {
    TS_ASSIGN_OR_RETURN(BoundArgs a, BoundArgs::Bind(name, args, {"default"}, 0));
    return ToFloat(v, a);
  }
  if (name == "abs") {
    if (v.is_int()) return Value::Int(v.as_int() < 0 ? -v.as_int() : v.as_int());
    if (v.is_number()) return Value::Float(std::fabs(v.as_float()));
    return InvalidArgument("bad operand type for abs(): '" + TypeName(v) + "'");
  }
  if (name == "sum") {
    TS_ASSIGN_OR_RETURN(BoundArgs a, BoundArgs::Bind(name, args, {"attribute", "start"}, 0));
    TS_ASSIGN_OR_RETURN(ValueList items, Iterate(v));
    Value total = a.Has(1) ? *a.Get(1) : Value::Int(0);
    for (const Value& item : items) {
      Value x = item;
      if (a.Has(0) && !a.Get(0)->is_none()) {
        TS_ASSIGN_OR_RETURN(std::string path, AttributeName(name, a.Get(0)));
        TS_ASSIGN_OR_RETURN(x, Attribute(item, path));
      }
      TS_ASSIGN_OR_RETURN(total, BinaryOperation("+", total, x));
    }
    return total;
  }
  if (name == "safe") return v;
  if (name == "map") return Map(v, args);
  if (name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr") {
    return Select(name, v, args);
  }
  if (name == "sort" || name == "unique" || name == "min" || name == "max") return Ordered(name, v, args);
  if (IsFilter(name)) return StringFilter(name, v, args);
  return InvalidArgument("no filter named '" + name + "'");
}

}  // namespace tessera::generate::chat_template
