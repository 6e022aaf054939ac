// The `tessera` subcommands; each returns the process exit status.
#pragma once

#include <string>
#include <vector>

namespace tessera::cli {

int RunCommand(const std::vector<std::string>& args);      // tessera run
int RunEnsembleCommand(const std::vector<std::string>& args);  // tessera run --model A --model B ...
int InspectCommand(const std::vector<std::string>& args);  // tessera inspect
int BenchCommand(const std::vector<std::string>& args);    // tessera bench
int ServeCommand(const std::vector<std::string>& args);    // tessera serve
int RunJobsCommand(const std::vector<std::string>& args);  // tessera run-jobs
int PlanCommand(const std::vector<std::string>& args);     // tessera plan
int GenerateCommand(const std::vector<std::string>& args); // tessera generate
int QuantizeCommand(const std::vector<std::string>& args); // tessera quantize
int PruneCommand(const std::vector<std::string>& args);    // tessera prune
int TokenizeCommand(const std::vector<std::string>& args); // tessera tokenize

}  // namespace tessera::cli
