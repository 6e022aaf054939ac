// Methods (methods.h), with Python's argument rules and results.
#include "generate/chat_template/methods.h"

#include <set>

#include "generate/chat_template/bound_args.h"
#include "generate/chat_template/text_case.h"

namespace tessera::generate::chat_template {

namespace {

const std::set<std::string> kStringMethods = {"strip",      "lstrip",   "rstrip", "split", "rsplit", "splitlines",
                                              "startswith", "endswith", "upper",  "lower", "title",  "capitalize",
                                              "replace",    "find",     "count",  "join"};
const std::set<std::string> kDictMethods = {"items", "keys", "values", "get"};
const std::set<std::string> kListMethods = {"index", "count"};

StatusOr<std::string> StringArgument(const std::string& method, const Value* v) {
  if (!v->is_string()) return InvalidArgument(method + "() argument must be str, not " + TypeName(*v));
  return v->as_string();
}

// strip/lstrip/rstrip: whitespace, or any of `chars` (code points).
std::string Strip(const std::string& s, const Value* chars, bool left, bool right) {
  std::vector<size_t> starts;  // the byte offset of each code point, then the end
  std::vector<uint32_t> points;
  for (size_t pos = 0; pos < s.size();) {
    starts.push_back(pos);
    points.push_back(NextCodePoint(s, pos));
  }
  starts.push_back(s.size());
  std::vector<uint32_t> set;
  const bool whitespace = !chars || chars->is_none();
  if (!whitespace) {
    for (size_t pos = 0; pos < chars->as_string().size();) set.push_back(NextCodePoint(chars->as_string(), pos));
  }
  auto strip = [&](uint32_t c) {
    return whitespace ? IsPythonSpace(c) : std::find(set.begin(), set.end(), c) != set.end();
  };
  size_t begin = 0, end = points.size();
  while (left && begin < end && strip(points[begin])) ++begin;
  while (right && end > begin && strip(points[end - 1])) --end;
  return s.substr(starts[begin], starts[end] - starts[begin]);
}

// split/rsplit without a separator: runs of whitespace, none at either end.
ValueList SplitWhitespace(const std::string& s, int64_t max_split, bool from_right) {
  std::vector<std::pair<size_t, size_t>> words;  // [begin, end) byte ranges
  size_t pos = 0, word_begin = std::string::npos;
  while (pos < s.size()) {
    const size_t at = pos;
    const bool space = IsPythonSpace(NextCodePoint(s, pos));
    if (!space && word_begin == std::string::npos) word_begin = at;
    if (space && word_begin != std::string::npos) {
      words.emplace_back(word_begin, at);
      word_begin = std::string::npos;
    }
  }
  if (word_begin != std::string::npos) words.emplace_back(word_begin, s.size());
  ValueList out;
  if (max_split < 0 || static_cast<size_t>(max_split) + 1 >= words.size()) {
    for (auto [b, e] : words) out.push_back(Value::String(s.substr(b, e - b)));
    return out;
  }
  const size_t keep = static_cast<size_t>(max_split);
  if (!from_right) {
    for (size_t i = 0; i < keep; ++i)
      out.push_back(Value::String(s.substr(words[i].first, words[i].second - words[i].first)));
    out.push_back(Value::String(Strip(s.substr(words[keep].first), nullptr, false, true)));
  } else {
    const size_t rest = words.size() - keep;
    out.push_back(Value::String(Strip(s.substr(0, words[rest - 1].second), nullptr, true, false)));
    for (size_t i = rest; i < words.size(); ++i) {
      out.push_back(Value::String(s.substr(words[i].first, words[i].second - words[i].first)));
    }
  }
  return out;
}

StatusOr<Value> Split(const std::string& s, const BoundArgs& a, bool from_right) {
  const int64_t max_split = a.Has(1) && a.Get(1)->is_int() ? a.Get(1)->as_int() : -1;
  if (!a.Has(0) || a.Get(0)->is_none()) return Value::List(SplitWhitespace(s, max_split, from_right));
  TS_ASSIGN_OR_RETURN(std::string sep, StringArgument("split", a.Get(0)));
  if (sep.empty()) return InvalidArgument("empty separator");
  std::vector<std::string> parts;
  if (!from_right) {
    size_t begin = 0;
    for (size_t at; (max_split < 0 || static_cast<int64_t>(parts.size()) < max_split) &&
                    (at = s.find(sep, begin)) != std::string::npos;
         begin = at + sep.size()) {
      parts.push_back(s.substr(begin, at - begin));
    }
    parts.push_back(s.substr(begin));
  } else {
    size_t end = s.size();
    while (max_split < 0 || static_cast<int64_t>(parts.size()) < max_split) {
      if (end < sep.size()) break;
      const size_t at = s.rfind(sep, end - sep.size());
      if (at == std::string::npos) break;
      parts.insert(parts.begin(), s.substr(at + sep.size(), end - at - sep.size()));
      end = at;
    }
    parts.insert(parts.begin(), s.substr(0, end));
  }
  ValueList out;
  for (std::string& p : parts) out.push_back(Value::String(std::move(p)));
  return Value::List(std::move(out));
}

ValueList SplitLines(const std::string& s, bool keep_ends) {
  ValueList out;
  size_t begin = 0;
  for (size_t pos = 0; pos < s.size();) {
    const size_t at = pos;
    const uint32_t c = NextCodePoint(s, pos);
    const bool is_break = c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || (c >= 0x1c && c <= 0x1e) || c == 0x85 ||
                          c == 0x2028 || c == 0x2029;
    if (!is_break) continue;
    if (c == '\r' && pos < s.size() && s[pos] == '\n') ++pos;
    out.push_back(Value::String(s.substr(begin, (keep_ends ? pos : at) - begin)));
    begin = pos;
  }
  if (begin < s.size()) out.push_back(Value::String(s.substr(begin)));
  return out;
}

StatusOr<Value> Affix(const std::string& s, const Value& affix, bool prefix) {
  std::vector<std::string> options;
  if (affix.is_string()) {
    options.push_back(affix.as_string());
  } else if (affix.is_list()) {
    for (const Value& o : affix.as_list()) {
      TS_ASSIGN_OR_RETURN(std::string text, StringArgument(prefix ? "startswith" : "endswith", &o));
      options.push_back(text);
    }
  } else {
    return InvalidArgument(std::string(prefix ? "startswith" : "endswith") +
                           " first arg must be str or a tuple of str, not " + TypeName(affix));
  }
  for (const std::string& o : options) {
    if (o.size() > s.size()) continue;
    if (prefix ? s.compare(0, o.size(), o) == 0 : s.compare(s.size() - o.size(), o.size(), o) == 0) {
      return Value::Bool(true);
    }
  }
  return Value::Bool(false);
}

std::string Replace(const std::string& s, const std::string& old, const std::string& with, int64_t count) {
  std::string out;
  if (old.empty()) {  // Python inserts `with` around every character
    std::vector<std::string> chars = CodePoints(s);
    int64_t done = 0;
    for (size_t i = 0; i <= chars.size(); ++i) {
      if (count < 0 || done < count) {
        out += with;
        ++done;
      }
      if (i < chars.size()) out += chars[i];
    }
    return out;
  }
  size_t begin = 0;
  int64_t done = 0;
  for (size_t at; (count < 0 || done < count) && (at = s.find(old, begin)) != std::string::npos; ++done) {
    out += s.substr(begin, at - begin) + with;
    begin = at + old.size();
  }
  return out + s.substr(begin);
}

StatusOr<Value> StringMethod(const std::string& s, const std::string& name, const CallArgs& args) {
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    TS_ASSIGN_OR_RETURN(BoundArgs a, BoundArgs::Bind(name, args, {"chars"}, 0));
    if (a.Has(0) && !a.Get(0)->is_none()) TS_RETURN_IF_ERROR(StringArgument(name, a.Get(0)).status());
    return Value::String(Strip(s, a.Get(0), name != "rstrip", name != "lstrip"));
  }
  if (name == "split" || name == "rsplit") {
    TS_ASSIGN_OR_RETURN(BoundArgs a, BoundArgs::Bind(name, args, {"sep", "maxsplit"}, 0));
    return Split(s, a, name == "rsplit");
  }
  if (name == "splitlines") {
    TS_ASSIGN_OR_RETURN(BoundArgs a, BoundArgs::Bind(name, args, {"keepends"}, 0));
    return Value::List(SplitLines(s, a.Has(0) && Truthy(*a.Get(0))));
  }
  if (name == "startswith" || name == "endswith") {
    TS_ASSIGN_OR_RETURN(BoundArgs a, BoundArgs::Bind(name, args, {"prefix"}, 1));
    return Affix(s, *a.Get(0), name == "startswith");
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    TS_RETURN_IF_ERROR(BoundArgs::Bind(name, args, {}, 0).status());
    if (name == "upper") return Value::String(ToUpper(s));
    if (name == "lower") return Value::String(ToLower(s));
    return Value::String(name == "title" ? ToTitle(s) : Capitalize(s));
  }
  if (name == "replace") {
    TS_ASSIGN_OR_RETURN(BoundArgs a, BoundArgs::Bind(name, args, {"old", "new", "count"}, 2));
    TS_ASSIGN_OR_RETURN(std::string old, StringArgument(name, a.Get(0)));
    TS_ASSIGN_OR_RETURN(std::string with, StringArgument(name, a.Get(1)));
    return Value::String(Replace(s, old, with, a.Has(2) && a.Get(2)->is_int() ? a.Get(2)->as_int() : -1));
  }
  if (name == "find" || name == "count") {
    TS_ASSIGN_OR_RETURN(BoundArgs a, BoundArgs::Bind(name, args, {"sub"}, 1));
    TS_ASSIGN_OR_RETURN(std::string sub, StringArgument(name, a.Get(0)));
    if (name == "find") {
      const size_t at = s.find(sub);
      return Value::Int(at == std::string::npos ? -1 : static_cast<int64_t>(CodePoints(s.substr(0, at)).size()));
    }
    if (sub.empty()) return Value::Int(static_cast<int64_t>(CodePoints(s).size()) + 1);
    int64_t n = 0;
    for (size_t at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size())) ++n;
    return Value::Int(n);
  }
  // join
  TS_ASSIGN_OR_RETURN(BoundArgs a, BoundArgs::Bind(name, args, {"iterable"}, 1));
  if (!a.Get(0)->is_list()) return InvalidArgument("can only join a list");
  std::string out;
  const ValueList& items = a.Get(0)->as_list();
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_string()) {
      return InvalidArgument("sequence item " + std::to_string(i) + ": expected str instance, " + TypeName(items[i]) +
                             " found");
    }
    if (i) out += s;
    out += items[i].as_string();
  }
  return Value::String(std::move(out));
}

StatusOr<Value> DictMethod(const ValueDict& d, const std::string& name, const CallArgs& args) {
  if (name == "get") {
    TS_ASSIGN_OR_RETURN(BoundArgs a, BoundArgs::Bind(name, args, {"key", "default"}, 1));
    if (a.Get(0)->is_string()) {
      if (const Value* v = d.Find(a.Get(0)->as_string())) return *v;
    }
    return a.Has(1) ? *a.Get(1) : Value::None();
  }
  TS_RETURN_IF_ERROR(BoundArgs::Bind(name, args, {}, 0).status());
  ValueList out;
  for (const auto& [k, v] : d.entries) {
    if (name == "items") {
      out.push_back(Value::Tuple({Value::String(k), v}));
    } else {
      out.push_back(name == "keys" ? Value::String(k) : v);
    }
  }
  return Value::List(std::move(out));
}

StatusOr<Value> ListMethod(const ValueList& list, const std::string& name, const CallArgs& args) {
  TS_ASSIGN_OR_RETURN(BoundArgs a, BoundArgs::Bind(name, args, {"value"}, 1));
  int64_t n = 0;
  for (size_t i = 0; i < list.size(); ++i) {
    if (!Equal(list[i], *a.Get(0))) continue;
    if (name == "index") return Value::Int(static_cast<int64_t>(i));
    ++n;
  }
  if (name == "index") return InvalidArgument(Repr(*a.Get(0)) + " is not in list");
  return Value::Int(n);
}

}  // namespace

bool HasMethod(const Value& obj, const std::string& name) {
  if (obj.is_string()) return kStringMethods.count(name) > 0;
  if (obj.kind() == Value::Kind::kDict) return kDictMethods.count(name) > 0;
  if (obj.is_list()) return kListMethods.count(name) > 0;
  return false;
}

StatusOr<Value> CallMethod(const Value& obj, const std::string& name, CallArgs& args) {
  if (!HasMethod(obj, name)) {
    return InvalidArgument("'" + TypeName(obj) + "' object has no method '" + name + "'");
  }
  if (obj.is_string()) return StringMethod(obj.as_string(), name, args);
  if (obj.is_list()) return ListMethod(obj.as_list(), name, args);
  return DictMethod(obj.as_dict(), name, args);
}

}  // namespace tessera::generate::chat_template
