// `tessera plan`: placeholder until the command lands.
#include "cli/commands.h"
#include "cli/command_line.h"

namespace tessera::cli {

int PlanCommand(const std::vector<std::string>& /*args*/) {
  return Fail(Unimplemented("'tessera plan' is not available yet"), kExitFailure);
}

}  // namespace tessera::cli
