// The parsed form of a chat template: statements (text, output, if, for, set, macro, ...) holding
// expressions. Built by parser.h, walked by renderer.h; positions are the source's, for error messages.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "generate/chat_template/value.h"

namespace tessera::generate::chat_template {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral,      // literal
    kName,         // name
    kList,         // children: the items
    kTuple,        // children: the items
    kDict,         // children: key, value, key, value, ...
    kAttribute,    // children[0].name
    kSubscript,    // children[0][children[1]]
    kSlice,        // children[0][children[1]:children[2]:children[3]], each bound may be null
    kCall,         // children[0](children[1:], keywords)
    kFilter,       // children[0] | name(children[1:], keywords)
    kTest,         // children[0] is [not] name(children[1:])
    kNot,          // not children[0]
    kNegate,       // -children[0]
    kPlus,         // +children[0]
    kBinary,       // children[0] name children[1]: + - * / // % ** ~ and or
    kCompare,      // children[0] ops[0] children[1] ops[1] children[2] ...: Python's chained comparison
    kConditional,  // children[0] if children[1] else children[2] (null: undefined)
  };

  Kind kind = Kind::kLiteral;
  int line = 0, column = 0;
  Value literal;
  std::string name;              // a name, attribute, filter, test or operator
  std::vector<std::string> ops;  // kCompare: ==, !=, <, >, <=, >=, in, not in
  std::vector<ExprPtr> children;
  std::vector<std::pair<std::string, ExprPtr>> keywords;
  bool negated = false;  // kTest: `is not`
};

struct Node;
using Body = std::vector<Node>;

// What `{% set %}` and `{% for %}` assign to: names (several unpack a sequence), or one attribute of a
// namespace (`ns.attr`).
struct AssignTarget {
  std::vector<std::string> names;
  std::string attribute;  // set: `names[0].attribute` when not empty
};

struct MacroParameter {
  std::string name;
  ExprPtr default_value;  // null: required
};

struct Node {
  enum class Kind { kText, kOutput, kIf, kFor, kSet, kSetBlock, kMacro, kBreak, kContinue, kScope };

  Kind kind = Kind::kText;
  int line = 0, column = 0;
  std::string text;                        // kText; kMacro: the macro's name
  ExprPtr expr;                            // kOutput; kFor: the iterable; kSet: the value
  AssignTarget target;                     // kFor, kSet, kSetBlock
  std::vector<ExprPtr> conditions;         // kIf: if/elif conditions; kFor: the loop filter (`for x in y if c`), if any
  std::vector<Body> bodies;                // kIf: one per condition, then the else branch if any; kFor: body, else
                                           // body; kSetBlock, kMacro, kScope (a {% generation %} block): the body
  std::vector<MacroParameter> parameters;  // kMacro
};

}  // namespace tessera::generate::chat_template
