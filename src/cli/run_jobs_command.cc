// `tessera run-jobs`: placeholder until the command lands.
#include "cli/commands.h"
#include "cli/command_line.h"

namespace tessera::cli {

int RunJobsCommand(const std::vector<std::string>& /*args*/) {
  return Fail(Unimplemented("'tessera run-jobs' is not available yet"), kExitFailure);
}

}  // namespace tessera::cli
