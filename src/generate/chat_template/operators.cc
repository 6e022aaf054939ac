// Operators and access (operators.h), with Python's results: int // and % round toward negative
// infinity, / always gives a float, str * int repeats.
#include "generate/chat_template/operators.h"

#include <cmath>

#include "generate/chat_template/methods.h"

namespace tessera::generate::chat_template {

namespace {

Status Unsupported(const std::string& op, const Value& a, const Value& b) {
  return InvalidArgument("unsupported operand type(s) for " + op + ": '" + TypeName(a) + "' and '" + TypeName(b) + "'");
}

Status Overflow(const std::string& op) { return InvalidArgument("integer overflow in '" + op + "'"); }

StatusOr<Value> Repeat(const Value& seq, int64_t times) {
  if (times < 0) times = 0;
  if (seq.is_string()) {
    if (times > 0 && seq.as_string().size() * static_cast<size_t>(times) > (size_t{64} << 20)) {
      return InvalidArgument("string repetition beyond 64 MiB");
    }
    std::string out;
    for (int64_t i = 0; i < times; ++i) out += seq.as_string();
    return Value::String(std::move(out));
  }
  if (times > 0 && seq.as_list().size() * static_cast<size_t>(times) > (size_t{1} << 20)) {
    return InvalidArgument("list repetition beyond a million items");
  }
  ValueList out;
  for (int64_t i = 0; i < times; ++i) out.insert(out.end(), seq.as_list().begin(), seq.as_list().end());
  return Value::List(std::move(out));
}

StatusOr<Value> IntOperation(const std::string& op, int64_t x, int64_t y) {
  int64_t r = 0;
  if (op == "+") {
    if (__builtin_add_overflow(x, y, &r)) return Overflow(op);
  } else if (op == "-") {
    if (__builtin_sub_overflow(x, y, &r)) return Overflow(op);
  } else if (op == "*") {
    if (__builtin_mul_overflow(x, y, &r)) return Overflow(op);
  } else if (op == "/") {
    if (y == 0) return InvalidArgument("division by zero");
    return Value::Float(static_cast<double>(x) / static_cast<double>(y));
  } else if (op == "//" || op == "%") {
    if (y == 0) return InvalidArgument(op == "//" ? "integer division or modulo by zero" : "modulo by zero");
    if (x == INT64_MIN && y == -1) return Overflow(op);
    int64_t q = x / y, m = x % y;
    if (m != 0 && ((m < 0) != (y < 0))) {
      --q;
      m += y;
    }
    r = op == "//" ? q : m;
  } else if (op == "**") {
    if (y < 0) return Value::Float(std::pow(static_cast<double>(x), static_cast<double>(y)));
    r = 1;
    for (int64_t i = 0; i < y; ++i) {
      if (__builtin_mul_overflow(r, x, &r)) return Overflow(op);
      if (r == 0 || r == 1) break;
    }
  }
  return Value::Int(r);
}

StatusOr<Value> FloatOperation(const std::string& op, double x, double y) {
  if (op == "+") return Value::Float(x + y);
  if (op == "-") return Value::Float(x - y);
  if (op == "*") return Value::Float(x * y);
  if (op == "**") return Value::Float(std::pow(x, y));
  if (y == 0) return InvalidArgument("float division by zero");
  if (op == "/") return Value::Float(x / y);
  double m = std::fmod(x, y);
  if (m != 0 && ((m < 0) != (y < 0))) m += y;
  if (op == "%") return Value::Float(m);
  return Value::Float(std::floor((x - m) / y + 0.5));  // Python's float //: (x - x % y) / y, rounded
}

}  // namespace

StatusOr<Value> BinaryOperation(const std::string& op, const Value& a, const Value& b) {
  if (op == "~") return Value::String(ToStr(a) + ToStr(b));
  if (a.is_undefined()) return InvalidArgument(a.as_string());
  if (b.is_undefined()) return InvalidArgument(b.as_string());
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return IntOperation(op, a.as_int(), b.as_int());
    return FloatOperation(op, a.as_float(), b.as_float());
  }
  if (op == "+") {
    if (a.is_string() && b.is_string()) return Value::String(a.as_string() + b.as_string());
    if (a.is_list() && b.is_list()) {
      ValueList items = a.as_list();
      items.insert(items.end(), b.as_list().begin(), b.as_list().end());
      return Value::List(std::move(items));
    }
    if (a.is_string()) return InvalidArgument("can only concatenate str (not \"" + TypeName(b) + "\") to str");
  }
  if (op == "*") {
    if ((a.is_string() || a.is_list()) && b.is_int()) return Repeat(a, b.as_int());
    if (a.is_int() && (b.is_string() || b.is_list())) return Repeat(b, a.as_int());
  }
  if (op == "%" && a.is_string())
    return InvalidArgument("printf-style string formatting (str % value) is not supported");
  return Unsupported(op, a, b);
}

StatusOr<Value> Negate(const Value& v) {
  if (v.is_undefined()) return InvalidArgument(v.as_string());
  if (v.is_int()) {
    if (v.as_int() == INT64_MIN) return Overflow("-");
    return Value::Int(-v.as_int());
  }
  if (v.is_number()) return Value::Float(-v.as_float());
  return InvalidArgument("bad operand type for unary -: '" + TypeName(v) + "'");
}

StatusOr<bool> Contains(const Value& haystack, const Value& needle) {
  if (haystack.is_string()) {
    if (!needle.is_string()) {
      return InvalidArgument("'in <string>' requires string as left operand, not " + TypeName(needle));
    }
    return haystack.as_string().find(needle.as_string()) != std::string::npos;
  }
  if (haystack.is_list()) {
    for (const Value& item : haystack.as_list()) {
      if (Equal(item, needle)) return true;
    }
    return false;
  }
  if (haystack.is_dict()) return needle.is_string() && haystack.as_dict().Find(needle.as_string()) != nullptr;
  if (haystack.is_undefined()) return false;
  return InvalidArgument("argument of type '" + TypeName(haystack) + "' is not iterable");
}

namespace {

Value BoundMethod(const Value& obj, const std::string& name) {
  return Value::Callable(name, [obj, name](CallArgs& args) { return CallMethod(obj, name, args); });
}

std::string ObjectName(const Value& v) { return v.is_none() ? "None" : TypeName(v) + " object"; }

}  // namespace

StatusOr<Value> GetAttribute(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) return InvalidArgument(obj.as_string());
  if (HasMethod(obj, name)) return BoundMethod(obj, name);
  if (obj.is_dict()) {
    if (const Value* v = obj.as_dict().Find(name)) return *v;
  }
  return Value::Undefined("'" + ObjectName(obj) + "' has no attribute '" + name + "'");
}

StatusOr<Value> GetItem(const Value& obj, const Value& key) {
  if (obj.is_undefined()) return InvalidArgument(obj.as_string());
  if (obj.is_dict() && key.is_string()) {
    if (const Value* v = obj.as_dict().Find(key.as_string())) return *v;
  }
  if ((obj.is_list() || obj.is_string()) && key.is_int()) {
    const std::vector<std::string> chars = obj.is_string() ? CodePoints(obj.as_string()) : std::vector<std::string>();
    const int64_t n = static_cast<int64_t>(obj.is_list() ? obj.as_list().size() : chars.size());
    int64_t i = key.as_int();
    if (i < 0) i += n;
    if (i >= 0 && i < n) return obj.is_list() ? obj.as_list()[i] : Value::String(chars[i]);
  }
  if (key.is_string()) return GetAttribute(obj, key.as_string());
  return Value::Undefined("'" + ObjectName(obj) + "' has no item " + Repr(key));
}

StatusOr<Value> GetSlice(const Value& obj, const Value* start, const Value* stop, const Value* step) {
  if (obj.is_undefined()) return InvalidArgument(obj.as_string());
  if (!obj.is_list() && !obj.is_string()) return InvalidArgument("'" + TypeName(obj) + "' object is not subscriptable");
  for (const Value* bound : {start, stop, step}) {
    if (bound && !bound->is_none() && !bound->is_int()) {
      return InvalidArgument("slice indices must be integers or None");
    }
  }
  const std::vector<std::string> chars = obj.is_string() ? CodePoints(obj.as_string()) : std::vector<std::string>();
  const int64_t n = static_cast<int64_t>(obj.is_list() ? obj.as_list().size() : chars.size());
  const int64_t s = step && step->is_int() ? step->as_int() : 1;
  if (s == 0) return InvalidArgument("slice step cannot be zero");
  // Python's slice.indices: clamp each bound into the range the step walks.
  auto clamp = [&](const Value* bound, int64_t absent) {
    if (!bound || !bound->is_int()) return absent;
    int64_t i = bound->as_int();
    if (i < 0) i += n;
    if (s > 0) return std::min(std::max(i, int64_t{0}), n);
    return std::min(std::max(i, int64_t{-1}), n - 1);
  };
  const int64_t from = clamp(start, s > 0 ? 0 : n - 1);
  const int64_t to = clamp(stop, s > 0 ? n : -1);
  ValueList items;
  std::string text;
  for (int64_t i = from; s > 0 ? i < to : i > to; i += s) {
    if (obj.is_list()) {
      items.push_back(obj.as_list()[i]);
    } else {
      text += chars[i];
    }
  }
  return obj.is_list() ? Value::List(std::move(items)) : Value::String(std::move(text));
}

StatusOr<ValueList> Iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return ValueList();
    case Value::Kind::kList:
      return v.as_list();
    case Value::Kind::kDict: {
      ValueList keys;
      for (const auto& [k, e] : v.as_dict().entries) keys.push_back(Value::String(k));
      return keys;
    }
    case Value::Kind::kString: {
      ValueList chars;
      for (std::string& c : CodePoints(v.as_string())) chars.push_back(Value::String(std::move(c)));
      return chars;
    }
    default:
      return InvalidArgument("'" + TypeName(v) + "' object is not iterable");
  }
}

}  // namespace tessera::generate::chat_template
