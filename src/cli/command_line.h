// Parsing of subcommand flags shared by every `tessera` subcommand.
//
// Flags come as `--name value` or `--name=value`; repeated flags keep every value in order. Anything
// not starting with `--` is positional. Errors are usage errors (exit status 2).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tessera/status.h"

namespace tessera::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;  // the model, an input or the run failed
constexpr int kExitUsage = 2;    // the command line is wrong

class CommandLine {
 public:
  // `boolean_flags` take no value (e.g. "json").
  static StatusOr<CommandLine> Parse(const std::vector<std::string>& args,
                                     const std::vector<std::string>& value_flags,
                                     const std::vector<std::string>& boolean_flags);

  const std::vector<std::string>& positional() const { return positional_; }
  bool Has(const std::string& flag) const { return values_.count(flag) != 0; }
  const std::vector<std::string>& All(const std::string& flag) const;
  std::string Get(const std::string& flag, const std::string& fallback = "") const;
  // Parses an integer flag within [min, max]; absent -> fallback.
  StatusOr<int64_t> GetInt(const std::string& flag, int64_t fallback, int64_t min, int64_t max) const;

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::vector<std::string>> values_;
};

// Replaces every character outside [A-Za-z0-9._-] with '_' (output file names, input matching).
std::string SanitizeName(const std::string& name);

// Prints "tessera: <message>" to stderr and returns `exit_code`.
int Fail(const Status& status, int exit_code = kExitFailure);

}  // namespace tessera::cli
