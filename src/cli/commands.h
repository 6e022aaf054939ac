// The `tessera` subcommands; each returns the process exit status.
#pragma once

#include <string>
#include <vector>

namespace tessera::cli {

int RunCommand(const std::vector<std::string>& args);      // tessera run
int InspectCommand(const std::vector<std::string>& args);  // tessera inspect
int BenchCommand(const std::vector<std::string>& args);    // tessera bench

}  // namespace tessera::cli
