// The set-up every command that runs on all ranks of a job shares (run, run --model ..., run-jobs, and
// serve under mpirun): the world opened once, and one rule for errors — a failure every rank sees alike
// (flags, plan, the root's inputs) is printed once, by rank 0, and every rank exits with the same status.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/command_line.h"
#include "parallel/comm/communicator.h"

namespace tessera::cli {

// The job's ranks as this process sees them: a world of one without a launcher.
class CommandWorld {
 public:
  // Opens the world and, with a key file (`link_key_flag`, else $TESSERA_LINK_KEY_FILE), seals its
  // links (parallel/comm/sealed_world.h). A failure is printed by the rank at fault or by rank 0.
  static std::optional<CommandWorld> Open(int& exit_code, const std::string& link_key_flag = "");

  Communicator& comm() const { return *comm_; }
  bool root() const { return comm_->rank() == 0; }
  // A failure every rank saw alike: printed by rank 0 only; every rank returns `code`.
  int FailOnce(const Status& status, int code) const { return root() ? Fail(status, code) : code; }

 private:
  explicit CommandWorld(std::unique_ptr<Communicator> comm) : comm_(std::move(comm)) {}
  std::unique_ptr<Communicator> comm_;
};

struct RankCommandFlags {
  std::vector<std::string> value_flags;   // --flag VALUE
  std::vector<std::string> switch_flags;  // --flag
  int positional = -1;                    // how many positional arguments; -1: the command checks itself
  std::string usage;                      // the error when the count is wrong
};

// A command on every rank, set up: the world opened (with --link-key FILE, which every such command
// takes), the flags parsed and the positional count and --threads (0 = every core, up to 1024) checked. On failure the error is printed once and nullopt is
// returned with the exit status in `exit_code`.
struct RankCommand {
  static std::optional<RankCommand> Start(const std::vector<std::string>& args, const RankCommandFlags& flags,
                                          int& exit_code);

  CommandWorld world;
  CommandLine cl;
  int threads = 0;
};

}  // namespace tessera::cli
