// CommandWorld and RankCommand (see rank_command.h).
#include "cli/rank_command.h"

#include <utility>

#include "parallel/comm/link_key.h"
#include "parallel/comm/sealed_world.h"

namespace tessera::cli {

std::optional<CommandWorld> CommandWorld::Open(int& exit_code, const std::string& link_key_flag) {
  auto comm = OpenWorld();
  if (!comm.ok()) {
    exit_code = Fail(comm.status());
    return std::nullopt;
  }
  bool report = false;
  auto protected_comm = ProtectWorldLinks(std::move(comm).value(), LinkKeyFilePath(link_key_flag), report);
  if (!protected_comm.ok()) {
    exit_code = report ? Fail(protected_comm.status()) : kExitFailure;
    return std::nullopt;
  }
  return CommandWorld(std::move(protected_comm).value());
}

std::optional<RankCommand> RankCommand::Start(const std::vector<std::string>& args, const RankCommandFlags& flags,
                                              int& exit_code) {
  // The world first, so that a usage error is printed by rank 0 alone.
  std::vector<std::string> value_flags = flags.value_flags;
  value_flags.push_back("link-key");
  auto cl = CommandLine::Parse(args, value_flags, flags.switch_flags);
  auto world = CommandWorld::Open(exit_code, cl.ok() ? cl->Get("link-key") : "");
  if (!world) return std::nullopt;
  auto fail = [&](const Status& s) {
    exit_code = world->FailOnce(s, kExitUsage);
    return std::nullopt;
  };
  if (!cl.ok()) return fail(cl.status());
  if (flags.positional >= 0 && cl->positional().size() != static_cast<size_t>(flags.positional)) {
    return fail(InvalidArgument(flags.usage));
  }
  auto threads = cl->GetInt("threads", 0, 1, 1024);
  if (!threads.ok()) return fail(threads.status());
  return RankCommand{std::move(*world), std::move(cl).value(), static_cast<int>(*threads)};
}

}  // namespace tessera::cli
