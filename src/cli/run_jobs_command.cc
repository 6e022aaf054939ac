// `tessera run-jobs JOBS.jsonl`: run one job per line, spread over the ranks of an MPI job.
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

#include "cli/command_line.h"
#include "cli/rank_command.h"
#include "cli/commands.h"
#include "parallel/comm/agreement.h"
#include "parallel/comm/communicator.h"
#include "parallel/tasks/job_progress.h"
#include "parallel/tasks/job_scheduler.h"

namespace tessera::cli {

namespace {

// Whether to redraw a bar rather than print a line per job. mpirun hands rank 0 a pseudo-terminal even
// when its own output goes to a pipe, so isatty alone would put carriage returns into CI logs: a CI
// variable or a dumb terminal also selects lines, and --progress overrides the guess.
StatusOr<bool> ProgressOnTerminal(const std::string& choice) {
  if (choice == "bar") return true;
  if (choice == "lines") return false;
  if (choice != "auto") return InvalidArgument("--progress must be auto, bar or lines, got '" + choice + "'");
  const char* term = std::getenv("TERM");
  return isatty(STDOUT_FILENO) && std::getenv("CI") == nullptr && term != nullptr && std::strcmp(term, "dumb") != 0;
}

}  // namespace

// Every rank runs this. Usage errors and an unreadable job file are seen alike by every rank and printed
// once, by rank 0. A failed job is reported and the rest go on; the exit status is 1 when any failed.
int RunJobsCommand(const std::vector<std::string>& args) {
  int exit_code = kExitOk;
  auto command = RankCommand::Start(
      args, {{"threads", "progress"}, {}, 1, "usage: tessera run-jobs JOBS.jsonl [--threads N] [--progress auto|bar|lines] [--link-key FILE]"},
      exit_code);
  if (!command) return exit_code;
  Communicator& comm = command->world.comm();
  const bool root = command->world.root();
  auto fail = [&](const Status& s, int code) { return command->world.FailOnce(s, code); };
  const CommandLine* cl = &command->cl;
  auto terminal = ProgressOnTerminal(cl->Get("progress", "auto"));
  if (!terminal.ok()) return fail(terminal.status(), kExitUsage);

  // Only rank 0 reads the job file; workers get each job in its message.
  StatusOr<std::vector<JobLine>> lines = std::vector<JobLine>{};
  if (root) lines = ReadJobFile(cl->positional()[0]);
  if (Status s = AgreeOnRoot(comm, 0, lines.status()); !s.ok()) return fail(s, kExitFailure);

  SessionOptions options;
  options.threads = command->threads;
  JobRunner runner(options);
  JobProgress progress(root ? static_cast<int>(lines->size()) : 0, std::cout, root && *terminal);
  auto summary = RunJobs(comm, *lines, runner, [&](const JobResult& r) { progress.OnFinished(r); });
  if (!summary.ok()) return fail(summary.status(), kExitFailure);
  if (!root) return kExitOk;

  progress.Finish();
  std::cout << JobProgress::Summary(*summary) << std::flush;
  if (summary->failed == 0) return kExitOk;
  return Fail(InvalidArgument(std::to_string(summary->failed) + " of " + std::to_string(lines->size()) +
                              " jobs failed (see the lines marked FAILED)"));
}

}  // namespace tessera::cli
