// Render (renderer.h): a tree walk with a chain of scopes.
#include "generate/chat_template/renderer.h"

#include <map>

#include "generate/chat_template/bound_args.h"
#include "generate/chat_template/filters.h"
#include "generate/chat_template/lexer.h"
#include "generate/chat_template/methods.h"
#include "generate/chat_template/operators.h"
#include "generate/chat_template/predicates.h"

namespace tessera::generate::chat_template {

namespace {

constexpr int kMaxCallDepth = 32;  // with blocks 64 deep (token_cursor.h), the stack stays within a few MiB
constexpr int64_t kMaxRange = 100'000;  // jinja's sandbox refuses longer ranges too

struct Scope {
  std::map<std::string, Value> vars;
  std::shared_ptr<Scope> parent;
};

enum class Flow { kNormal, kBreak, kContinue };

// jinja's range(stop) / range(start, stop[, step]), as a list.
StatusOr<Value> Range(CallArgs& args) {
  if (!args.keyword.empty() || args.positional.empty() || args.positional.size() > 3) {
    return InvalidArgument("range() takes 1 to 3 integer arguments");
  }
  for (const Value& v : args.positional) {
    if (!v.is_int())
      return InvalidArgument("range(): '" + TypeName(v) + "' object cannot be interpreted as an integer");
  }
  const size_t n = args.positional.size();
  const int64_t start = n == 1 ? 0 : args.positional[0].as_int();
  const int64_t stop = n == 1 ? args.positional[0].as_int() : args.positional[1].as_int();
  const int64_t step = n == 3 ? args.positional[2].as_int() : 1;
  if (step == 0) return InvalidArgument("range() arg 3 must not be zero");
  ValueList items;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (static_cast<int64_t>(items.size()) >= kMaxRange) {
      return InvalidArgument("range() too big: more than " + std::to_string(kMaxRange) + " items");
    }
    items.push_back(Value::Int(i));
  }
  return Value::List(std::move(items));
}

// A value a template builds: refused past kMaxValueDepth levels (value.h).
StatusOr<Value> Bounded(Value v) {
  if (DeeperThan(v, kMaxValueDepth)) {
    return InvalidArgument("values nest more than " + std::to_string(kMaxValueDepth) + " levels deep");
  }
  return v;
}

// namespace(dict?, key=value...) and dict(key=value...).
StatusOr<Value> Mapping(const std::string& name, CallArgs& args) {
  ValueDict d;
  if (args.positional.size() > 1) return InvalidArgument(name + "() takes at most one positional argument");
  if (!args.positional.empty()) {
    if (args.positional[0].kind() != Value::Kind::kDict) return InvalidArgument(name + "(): expected a mapping");
    d = args.positional[0].as_dict();
  }
  for (auto& [k, v] : args.keyword) d.Set(k, v);
  if (name == "namespace") {
    for (const auto& [k, v] : d.entries) {
      if (HoldsNamespace(v)) return InvalidArgument("a namespace cannot hold a namespace");
    }
    return Bounded(Value::Namespace(std::move(d)));
  }
  return Bounded(Value::Dict(std::move(d)));
}

class Renderer {
 public:
  Renderer(const ValueDict& context, const RenderLimits& limits) : limits_(limits), root_(std::make_shared<Scope>()) {
    for (const auto& [k, v] : context.entries) root_->vars[k] = v;
    globals_["range"] = Value::Callable("range", Range);
    globals_["namespace"] = Value::Callable("namespace", [](CallArgs& a) { return Mapping("namespace", a); });
    globals_["dict"] = Value::Callable("dict", [](CallArgs& a) { return Mapping("dict", a); });
  }

  StatusOr<std::string> Run(const Body& body) {
    std::string out;
    TS_ASSIGN_OR_RETURN(Flow flow, RenderBody(body, root_, out));
    (void)flow;  // break/continue only parse inside loops
    return out;
  }

 private:
  static Status At(const Status& s, int line, int column) {
    if (s.ok() || s.message().rfind("chat template", 0) == 0) return s;  // already placed
    return InvalidArgument("chat template error at " + Where(line, column) + ": " + s.message());
  }

  StatusOr<Flow> RenderBody(const Body& body, const std::shared_ptr<Scope>& scope, std::string& out) {
    for (const Node& n : body) {
      auto flow = RenderNode(n, scope, out);
      if (!flow.ok()) return At(flow.status(), n.line, n.column);
      if (*flow != Flow::kNormal) return *flow;
      if (out.size() > limits_.output_bytes) {
        return At(InvalidArgument("the output passed " + std::to_string(limits_.output_bytes) + " bytes"), n.line,
                  n.column);
      }
    }
    return Flow::kNormal;
  }

  StatusOr<Flow> RenderNode(const Node& n, const std::shared_ptr<Scope>& scope, std::string& out) {
    switch (n.kind) {
      case Node::Kind::kText:
        out += n.text;
        return Flow::kNormal;
      case Node::Kind::kOutput: {
        TS_ASSIGN_OR_RETURN(Value v, Eval(*n.expr, scope));
        out += ToStr(v);
        return Flow::kNormal;
      }
      case Node::Kind::kIf:
        for (size_t i = 0; i < n.bodies.size(); ++i) {
          if (i < n.conditions.size()) {
            TS_ASSIGN_OR_RETURN(Value c, Eval(*n.conditions[i], scope));
            if (!Truthy(c)) continue;
          }
          return RenderBody(n.bodies[i], scope, out);
        }
        return Flow::kNormal;
      case Node::Kind::kFor:
        return RenderFor(n, scope, out);
      case Node::Kind::kSet: {
        TS_ASSIGN_OR_RETURN(Value v, Eval(*n.expr, scope));
        TS_RETURN_IF_ERROR(Assign(n.target, std::move(v), *scope));
        return Flow::kNormal;
      }
      case Node::Kind::kSetBlock: {
        std::string text;
        TS_RETURN_IF_ERROR(RenderBody(n.bodies[0], scope, text).status());
        scope->vars[n.target.names[0]] = Value::String(std::move(text));
        return Flow::kNormal;
      }
      case Node::Kind::kMacro:
        scope->vars[n.text] = Macro(n, scope);
        return Flow::kNormal;
      case Node::Kind::kBreak:
        return Flow::kBreak;
      case Node::Kind::kContinue:
        return Flow::kContinue;
      case Node::Kind::kScope:
        return RenderBody(n.bodies[0], scope, out);
    }
    return Flow::kNormal;
  }

  Status Step() {
    if (++steps_ > limits_.steps) {
      return InvalidArgument("the template ran more than " + std::to_string(limits_.steps) + " loop steps");
    }
    return Status::Ok();
  }

  // Binds a loop item or set value to the target: one name, several (unpacking), or ns.attr.
  static Status Assign(const AssignTarget& target, Value v, Scope& scope) {
    if (!target.attribute.empty()) {
      Value* ns = nullptr;
      for (Scope* s = &scope; s && !ns; s = s->parent.get()) {
        auto it = s->vars.find(target.names[0]);
        if (it != s->vars.end()) ns = &it->second;
      }
      if (!ns || ns->kind() != Value::Kind::kNamespace) {
        return InvalidArgument("cannot assign attribute on non-namespace object '" + target.names[0] + "'");
      }
      // A namespace inside one could make a cycle, which printing would follow forever.
      if (HoldsNamespace(v)) return InvalidArgument("a namespace cannot hold a namespace");
      if (DeeperThan(v, kMaxValueDepth - 1)) {
        return InvalidArgument("values nest more than " + std::to_string(kMaxValueDepth) + " levels deep");
      }
      ns->mutable_namespace().Set(target.attribute, std::move(v));
      return Status::Ok();
    }
    if (target.names.size() == 1) {
      scope.vars[target.names[0]] = std::move(v);
      return Status::Ok();
    }
    TS_ASSIGN_OR_RETURN(ValueList items, Iterate(v));
    if (items.size() != target.names.size()) {
      return InvalidArgument(std::string(items.size() > target.names.size() ? "too many" : "not enough") +
                             " values to unpack (expected " + std::to_string(target.names.size()) + ", got " +
                             std::to_string(items.size()) + ")");
    }
    for (size_t i = 0; i < items.size(); ++i) scope.vars[target.names[i]] = std::move(items[i]);
    return Status::Ok();
  }

  StatusOr<Flow> RenderFor(const Node& n, const std::shared_ptr<Scope>& scope, std::string& out) {
    TS_ASSIGN_OR_RETURN(Value iterable, Eval(*n.expr, scope));
    TS_ASSIGN_OR_RETURN(ValueList all, Iterate(iterable));
    ValueList items;
    for (Value& item : all) {
      if (!n.conditions.empty()) {
        TS_RETURN_IF_ERROR(Step());
        auto filter_scope = std::make_shared<Scope>();
        filter_scope->parent = scope;
        TS_RETURN_IF_ERROR(Assign(n.target, item, *filter_scope));
        TS_ASSIGN_OR_RETURN(Value keep, Eval(*n.conditions[0], filter_scope));
        if (!Truthy(keep)) continue;
      }
      items.push_back(std::move(item));
    }
    const int64_t length = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < length; ++i) {
      TS_RETURN_IF_ERROR(Step());
      auto iteration = std::make_shared<Scope>();  // jinja: what the body sets is gone next iteration
      iteration->parent = scope;
      TS_RETURN_IF_ERROR(Assign(n.target, items[i], *iteration));
      ValueDict loop;
      loop.Set("index", Value::Int(i + 1));
      loop.Set("index0", Value::Int(i));
      loop.Set("revindex", Value::Int(length - i));
      loop.Set("revindex0", Value::Int(length - i - 1));
      loop.Set("first", Value::Bool(i == 0));
      loop.Set("last", Value::Bool(i == length - 1));
      loop.Set("length", Value::Int(length));
      loop.Set("depth", Value::Int(1));
      loop.Set("depth0", Value::Int(0));
      loop.Set("previtem", i > 0 ? items[i - 1] : Value::Undefined("there is no previous item"));
      loop.Set("nextitem", i + 1 < length ? items[i + 1] : Value::Undefined("there is no next item"));
      loop.Set("cycle", Value::Callable("cycle", [i](CallArgs& a) -> StatusOr<Value> {
                 if (a.positional.empty()) return InvalidArgument("no items for cycling given");
                 return a.positional[static_cast<size_t>(i) % a.positional.size()];
               }));
      iteration->vars["loop"] = Value::Dict(std::move(loop));
      TS_ASSIGN_OR_RETURN(Flow flow, RenderBody(n.bodies[0], iteration, out));
      if (flow == Flow::kBreak) break;
    }
    if (length == 0 && n.bodies.size() > 1) {
      TS_ASSIGN_OR_RETURN(Flow flow, RenderBody(n.bodies[1], scope, out));
      return flow;
    }
    return Flow::kNormal;
  }

  Value Macro(const Node& n, const std::shared_ptr<Scope>& defined_in) {
    std::weak_ptr<Scope> weak = defined_in;  // the scope holds the macro: a strong pointer would be a cycle
    return Value::Callable(n.text, [this, &n, weak](CallArgs& args) -> StatusOr<Value> {
      TS_RETURN_IF_ERROR(Step());
      if (depth_ >= kMaxCallDepth) return InvalidArgument("macro calls nest more than 32 deep");
      std::vector<std::string> names;  // a parameter left out is undefined, as in jinja
      for (const MacroParameter& p : n.parameters) names.push_back(p.name);
      TS_ASSIGN_OR_RETURN(BoundArgs bound, BoundArgs::Bind(n.text, args, names, 0));
      auto scope = std::make_shared<Scope>();
      scope->parent = weak.lock();
      if (!scope->parent) scope->parent = root_;
      for (size_t i = 0; i < names.size(); ++i) {
        if (bound.Has(i)) {
          scope->vars[names[i]] = *bound.Get(i);
        } else if (n.parameters[i].default_value) {
          TS_ASSIGN_OR_RETURN(scope->vars[names[i]], Eval(*n.parameters[i].default_value, scope));
        } else {
          scope->vars[names[i]] = Value::Undefined("parameter '" + names[i] + "' was not provided");
        }
      }
      std::string text;
      ++depth_;
      auto flow = RenderBody(n.bodies[0], scope, text);
      --depth_;
      if (!flow.ok()) return flow.status();
      return Value::String(std::move(text));
    });
  }

  Value Lookup(const std::string& name, const Scope* scope) const {
    for (const Scope* s = scope; s; s = s->parent.get()) {
      auto it = s->vars.find(name);
      if (it != s->vars.end()) return it->second;
    }
    auto it = globals_.find(name);
    if (it != globals_.end()) return it->second;
    return Value::Undefined("'" + name + "' is undefined");
  }

  StatusOr<CallArgs> Arguments(const Expr& e, const std::shared_ptr<Scope>& scope) {
    CallArgs args;
    for (size_t i = 1; i < e.children.size(); ++i) {
      TS_ASSIGN_OR_RETURN(Value v, Eval(*e.children[i], scope));
      args.positional.push_back(std::move(v));
    }
    for (const auto& [name, expr] : e.keywords) {
      TS_ASSIGN_OR_RETURN(Value v, Eval(*expr, scope));
      args.keyword.emplace_back(name, std::move(v));
    }
    return args;
  }

  StatusOr<Value> Call(const Expr& e, const std::shared_ptr<Scope>& scope) {
    const Expr& callee = *e.children[0];
    Value function;
    if (callee.kind == Expr::Kind::kAttribute) {
      TS_ASSIGN_OR_RETURN(Value obj, Eval(*callee.children[0], scope));
      if (HasMethod(obj, callee.name)) {
        TS_ASSIGN_OR_RETURN(CallArgs args, Arguments(e, scope));
        return CallMethod(obj, callee.name, args);
      }
      TS_ASSIGN_OR_RETURN(function, GetAttribute(obj, callee.name));
    } else {
      TS_ASSIGN_OR_RETURN(function, Eval(callee, scope));
    }
    if (function.is_undefined()) return InvalidArgument(function.as_string());
    if (!function.is_callable()) return InvalidArgument("'" + TypeName(function) + "' object is not callable");
    TS_ASSIGN_OR_RETURN(CallArgs args, Arguments(e, scope));
    return function.as_callable()(args);
  }

  StatusOr<Value> Compare(const Expr& e, const std::shared_ptr<Scope>& scope) {
    TS_ASSIGN_OR_RETURN(Value left, Eval(*e.children[0], scope));
    for (size_t i = 0; i < e.ops.size(); ++i) {
      TS_ASSIGN_OR_RETURN(Value right, Eval(*e.children[i + 1], scope));
      const std::string& op = e.ops[i];
      bool holds;
      if (op == "==" || op == "!=") {
        holds = Equal(left, right) == (op == "==");
      } else if (op == "in" || op == "not in") {
        TS_ASSIGN_OR_RETURN(bool in, Contains(right, left));
        holds = in == (op == "in");
      } else {
        if (left.is_undefined()) return InvalidArgument(left.as_string());
        if (right.is_undefined()) return InvalidArgument(right.as_string());
        TS_ASSIGN_OR_RETURN(int c, chat_template::Compare(left, right, op));
        holds = op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0;
      }
      if (!holds) return Value::Bool(false);
      left = std::move(right);
    }
    return Value::Bool(true);
  }

  StatusOr<Value> Eval(const Expr& e, const std::shared_ptr<Scope>& scope) {
    auto v = EvalHere(e, scope);
    if (!v.ok()) return At(v.status(), e.line, e.column);
    return v;
  }

  StatusOr<Value> EvalHere(const Expr& e, const std::shared_ptr<Scope>& scope) {
    switch (e.kind) {
      case Expr::Kind::kLiteral:
        return e.literal;
      case Expr::Kind::kName:
        return Lookup(e.name, scope.get());
      case Expr::Kind::kList:
      case Expr::Kind::kTuple: {
        ValueList items;
        for (const ExprPtr& c : e.children) {
          TS_ASSIGN_OR_RETURN(Value v, Eval(*c, scope));
          items.push_back(std::move(v));
        }
        return Bounded(e.kind == Expr::Kind::kTuple ? Value::Tuple(std::move(items)) : Value::List(std::move(items)));
      }
      case Expr::Kind::kDict: {
        ValueDict d;
        for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
          TS_ASSIGN_OR_RETURN(Value k, Eval(*e.children[i], scope));
          if (!k.is_string()) return InvalidArgument("dict keys must be strings, got " + TypeName(k));
          TS_ASSIGN_OR_RETURN(Value v, Eval(*e.children[i + 1], scope));
          d.Set(k.as_string(), std::move(v));
        }
        return Bounded(Value::Dict(std::move(d)));
      }
      case Expr::Kind::kAttribute: {
        TS_ASSIGN_OR_RETURN(Value obj, Eval(*e.children[0], scope));
        return GetAttribute(obj, e.name);
      }
      case Expr::Kind::kSubscript: {
        TS_ASSIGN_OR_RETURN(Value obj, Eval(*e.children[0], scope));
        TS_ASSIGN_OR_RETURN(Value key, Eval(*e.children[1], scope));
        return GetItem(obj, key);
      }
      case Expr::Kind::kSlice: {
        TS_ASSIGN_OR_RETURN(Value obj, Eval(*e.children[0], scope));
        Value bounds[3];
        for (int i = 0; i < 3; ++i) {
          if (e.children[i + 1]) {
            TS_ASSIGN_OR_RETURN(bounds[i], Eval(*e.children[i + 1], scope));
          }
        }
        return GetSlice(obj, e.children[1] ? &bounds[0] : nullptr, e.children[2] ? &bounds[1] : nullptr,
                        e.children[3] ? &bounds[2] : nullptr);
      }
      case Expr::Kind::kCall:
        return Call(e, scope);
      case Expr::Kind::kFilter: {
        TS_ASSIGN_OR_RETURN(Value operand, Eval(*e.children[0], scope));
        TS_ASSIGN_OR_RETURN(CallArgs args, Arguments(e, scope));
        return ApplyFilter(e.name, operand, args);
      }
      case Expr::Kind::kTest: {
        TS_ASSIGN_OR_RETURN(Value operand, Eval(*e.children[0], scope));
        TS_ASSIGN_OR_RETURN(CallArgs args, Arguments(e, scope));
        TS_ASSIGN_OR_RETURN(bool result, ApplyTest(e.name, operand, args));
        return Value::Bool(result != e.negated);
      }
      case Expr::Kind::kNot: {
        TS_ASSIGN_OR_RETURN(Value v, Eval(*e.children[0], scope));
        return Value::Bool(!Truthy(v));
      }
      case Expr::Kind::kNegate: {
        TS_ASSIGN_OR_RETURN(Value v, Eval(*e.children[0], scope));
        return Negate(v);
      }
      case Expr::Kind::kPlus: {
        TS_ASSIGN_OR_RETURN(Value v, Eval(*e.children[0], scope));
        if (v.is_undefined()) return InvalidArgument(v.as_string());
        if (!v.is_number()) return InvalidArgument("bad operand type for unary +: '" + TypeName(v) + "'");
        return v.kind() == Value::Kind::kBool ? Value::Int(v.as_int()) : v;
      }
      case Expr::Kind::kBinary: {
        TS_ASSIGN_OR_RETURN(Value left, Eval(*e.children[0], scope));
        if (e.name == "and" || e.name == "or") {  // Python's: the deciding operand itself
          if (Truthy(left) == (e.name == "or")) return left;
          return Eval(*e.children[1], scope);
        }
        TS_ASSIGN_OR_RETURN(Value right, Eval(*e.children[1], scope));
        return BinaryOperation(e.name, left, right);
      }
      case Expr::Kind::kCompare:
        return Compare(e, scope);
      case Expr::Kind::kConditional: {
        TS_ASSIGN_OR_RETURN(Value c, Eval(*e.children[1], scope));
        if (Truthy(c)) return Eval(*e.children[0], scope);
        if (!e.children[2]) return Value::Undefined("the conditional expression had no else branch");
        return Eval(*e.children[2], scope);
      }
    }
    return Value();
  }

  const RenderLimits limits_;
  std::shared_ptr<Scope> root_;
  std::map<std::string, Value> globals_;
  int64_t steps_ = 0;
  int depth_ = 0;
};

}  // namespace

StatusOr<std::string> Render(const Body& body, const ValueDict& context, const RenderLimits& limits) {
  return Renderer(context, limits).Run(body);
}

}  // namespace tessera::generate::chat_template
