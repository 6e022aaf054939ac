// BoundArgs: a call's arguments matched to a function's parameter names as Python matches them
// (positional first, then keywords by name), for the built-in filters, tests, methods and globals.
#pragma once

#include <string>
#include <vector>

#include "generate/chat_template/value.h"

namespace tessera::generate::chat_template {

class BoundArgs {
 public:
  // InvalidArgument naming `function` for too many positionals, an unknown or repeated keyword, or fewer
  // than `required` parameters given.
  static StatusOr<BoundArgs> Bind(const std::string& function, const CallArgs& args,
                                  const std::vector<std::string>& names, size_t required) {
    BoundArgs bound;
    bound.values_.assign(names.size(), nullptr);
    if (args.positional.size() > names.size()) {
      return InvalidArgument(function + "() takes at most " + std::to_string(names.size()) + " arguments (" +
                             std::to_string(args.positional.size()) + " given)");
    }
    for (size_t i = 0; i < args.positional.size(); ++i) bound.values_[i] = &args.positional[i];
    for (const auto& [name, value] : args.keyword) {
      size_t i = 0;
      while (i < names.size() && names[i] != name) ++i;
      if (i == names.size()) return InvalidArgument(function + "() got an unexpected keyword argument '" + name + "'");
      if (bound.values_[i]) return InvalidArgument(function + "() got multiple values for argument '" + name + "'");
      bound.values_[i] = &value;
    }
    for (size_t i = 0; i < required; ++i) {
      if (!bound.values_[i]) return InvalidArgument(function + "() missing required argument '" + names[i] + "'");
    }
    return bound;
  }

  // The argument, or null when it was not given; valid while the CallArgs live.
  const Value* Get(size_t i) const { return values_[i]; }
  bool Has(size_t i) const { return values_[i] != nullptr; }

 private:
  std::vector<const Value*> values_;
};

}  // namespace tessera::generate::chat_template
