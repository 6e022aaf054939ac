// Flag parsing for the command line.
#include "cli/command_line.h"

#include <algorithm>
#include <iostream>

namespace tessera::cli {

StatusOr<CommandLine> CommandLine::Parse(const std::vector<std::string>& args,
                                         const std::vector<std::string>& value_flags,
                                         const std::vector<std::string>& boolean_flags) {
  CommandLine cl;
  auto known = [](const std::vector<std::string>& list, const std::string& f) {
    return std::find(list.begin(), list.end(), f) != list.end();
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      cl.positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    bool has_inline = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_inline = true;
    }
    if (known(boolean_flags, name)) {
      if (has_inline) return InvalidArgument("flag --" + name + " takes no value");
      cl.values_[name].push_back("true");
    } else if (known(value_flags, name)) {
      if (!has_inline) {
        if (i + 1 >= args.size()) return InvalidArgument("flag --" + name + " needs a value");
        value = args[++i];
      }
      cl.values_[name].push_back(value);
    } else {
      return InvalidArgument("unknown flag --" + name);
    }
  }
  return cl;
}

const std::vector<std::string>& CommandLine::All(const std::string& flag) const {
  static const std::vector<std::string> kNone;
  auto it = values_.find(flag);
  return it == values_.end() ? kNone : it->second;
}

std::string CommandLine::Get(const std::string& flag, const std::string& fallback) const {
  auto it = values_.find(flag);
  return it == values_.end() ? fallback : it->second.back();
}

StatusOr<int64_t> CommandLine::GetInt(const std::string& flag, int64_t fallback, int64_t min, int64_t max) const {
  if (!Has(flag)) return fallback;
  const std::string v = Get(flag);
  size_t used = 0;
  int64_t n = 0;
  try {
    n = std::stoll(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v.size() || v.empty()) return InvalidArgument("--" + flag + " must be an integer, got '" + v + "'");
  if (n < min || n > max) {
    return InvalidArgument("--" + flag + " must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return n;
}

std::string SanitizeName(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-';
    if (!ok) c = '_';
  }
  return out;
}

int Fail(const Status& status, int exit_code) {
  // One line per error, whatever the libraries underneath put in their messages.
  std::string message = status.message();
  for (char& c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::cerr << "tessera: " << message << "\n";
  return exit_code;
}

}  // namespace tessera::cli
