// Value: what a chat template computes with, with Python's meaning (jinja2 evaluates templates as Python).
//
// A value is undefined, none, a bool, an int (64-bit), a float, a UTF-8 string, a list, a dict (string
// keys, insertion order kept: tojson must print keys in the order the request gave them), a namespace (a
// dict that `{% set ns.attr = ... %}` changes in place, shared by every copy) or a callable (a macro, a
// global such as raise_exception, or a method bound to its object). Lists and plain dicts are never
// changed after they are built, so copies share them.
//
// The functions below are Python's: truthiness, str() and repr(), ==, ordering, and Hugging Face's
// `tojson` (json.dumps with ensure_ascii=False).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tessera/status.h"

namespace tessera::generate::chat_template {

class Value;
using ValueList = std::vector<Value>;

// A dict's entries in insertion order; dicts in templates are small, so lookup is a scan.
struct ValueDict {
  std::vector<std::pair<std::string, Value>> entries;

  const Value* Find(const std::string& key) const;
  void Set(const std::string& key, Value value);
};

// Arguments of a call: positional, then keyword (name=value) in the order written.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

using NativeFunction = std::function<StatusOr<Value>(CallArgs&)>;

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kNamespace, kCallable };

  Value() = default;  // undefined
  // `why`: the error to report when the value is used ("'foo' is undefined").
  static Value Undefined(std::string why);
  static Value None();
  static Value Bool(bool b);
  static Value Int(int64_t i);
  static Value Float(double f);
  static Value String(std::string s);
  static Value List(ValueList items);
  static Value Tuple(ValueList items);  // a list that prints as Python's tuple, (a, b)
  static Value Dict(ValueDict dict);
  static Value Namespace(ValueDict dict);
  static Value Callable(std::string name, NativeFunction fn);
  // JSON → value: objects become dicts (key order kept), arrays lists, null none.
  static Value FromJson(const nlohmann::ordered_json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_tuple() const { return kind_ == Kind::kList && b_; }
  bool is_dict() const { return kind_ == Kind::kDict || kind_ == Kind::kNamespace; }
  bool is_callable() const { return kind_ == Kind::kCallable; }
  // Python's numbers: bool is an int.
  bool is_int() const { return kind_ == Kind::kInt || kind_ == Kind::kBool; }
  bool is_number() const { return is_int() || kind_ == Kind::kFloat; }

  bool as_bool() const { return b_; }  // kBool only (for lists b_ marks a tuple)
  int64_t as_int() const { return kind_ == Kind::kBool ? (b_ ? 1 : 0) : i_; }
  double as_float() const { return kind_ == Kind::kFloat ? f_ : static_cast<double>(as_int()); }
  // The string, or why the value is undefined.
  const std::string& as_string() const { return s_; }
  const ValueList& as_list() const { return *list_; }
  const ValueDict& as_dict() const { return *dict_; }
  ValueDict& mutable_namespace() const { return *dict_; }  // kNamespace only
  const std::string& callable_name() const { return s_; }
  const NativeFunction& as_callable() const { return *fn_; }

 private:
  Kind kind_ = Kind::kUndefined;
  bool b_ = false;
  int64_t i_ = 0;
  double f_ = 0;
  std::string s_;
  std::shared_ptr<const ValueList> list_;
  std::shared_ptr<ValueDict> dict_;
  std::shared_ptr<const NativeFunction> fn_;
};

// Python's type name of the value ('str', 'int', 'dict', 'NoneType', ...), for error messages.
std::string TypeName(const Value& v);
bool Truthy(const Value& v);
// str(v); undefined is "" as jinja prints it.
std::string ToStr(const Value& v);
std::string Repr(const Value& v);
// Python's float repr: the shortest digits that read back, "1.0", "1e-05", "1e+16".
std::string FloatRepr(double f);
// Python's ==.
bool Equal(const Value& a, const Value& b);
// Python's ordering: -1, 0 or 1; InvalidArgument for types that do not order ('<' between str and int).
StatusOr<int> Compare(const Value& a, const Value& b, const std::string& op);
// Hugging Face's tojson: json.dumps(v, ensure_ascii=False, indent=indent, sort_keys=sort_keys); indent < 0
// is none (one line, ", " and ": " separators).
StatusOr<std::string> ToJson(const Value& v, int indent, bool sort_keys);

// Values nest at most kMaxValueDepth levels (the JSON a template reads, and what it builds): the recursive
// functions above then stay within the stack. DeeperThan and HoldsNamespace look at most limit + 1 levels
// down, so they are safe on any value.
constexpr int kMaxValueDepth = 64;
bool DeeperThan(const Value& v, int limit);
bool HoldsNamespace(const Value& v, int limit = kMaxValueDepth);

// Strings are UTF-8; templates index, slice and measure them in code points, as Python does.
std::vector<std::string> CodePoints(const std::string& s);

}  // namespace tessera::generate::chat_template
