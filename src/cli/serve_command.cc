// `tessera serve`: placeholder until the command lands.
#include "cli/commands.h"
#include "cli/command_line.h"

namespace tessera::cli {

int ServeCommand(const std::vector<std::string>& /*args*/) {
  return Fail(Unimplemented("'tessera serve' is not available yet"), kExitFailure);
}

}  // namespace tessera::cli
