// `tessera run --model A.onnx --model B.onnx ... --aggregate sum|mean|concat`: an ensemble run.
#include <chrono>
#include <filesystem>
#include <iostream>

#include "cli/command_line.h"
#include "cli/rank_command.h"
#include "cli/commands.h"
#include "core/npy.h"
#include "parallel/comm/communicator.h"
#include "parallel/ensemble/ensemble.h"

namespace tessera::cli {

namespace {

constexpr const char* kEnsembleUsage =
    "usage: tessera run --model A.onnx --model B.onnx [...] --input NAME=FILE.npy ... --output-dir DIR "
    "--aggregate sum|mean|concat [--threads N] [--link-key FILE]";

Status WriteOutputs(const EnsembleResult& result, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return IoError("cannot create output folder '" + dir + "': " + ec.message());
  for (size_t i = 0; i < result.outputs.size(); ++i) {
    std::string name = i < result.output_names.size() ? result.output_names[i] : "output_" + std::to_string(i);
    std::string path = (std::filesystem::path(dir) / (SanitizeName(name) + ".npy")).string();
    TS_RETURN_IF_ERROR(WriteNpy(path, result.outputs[i]));
    std::cout << name << ": " << DTypeName(result.outputs[i].dtype()) << " " << ShapeToString(result.outputs[i].shape())
              << " -> " << path << "\n";
  }
  return Status::Ok();
}

}  // namespace

// Every rank runs this (see ensemble.h for who runs what). Errors every rank shares are printed by rank 0
// only; a rank whose own model failed prints its own message.
int RunEnsembleCommand(const std::vector<std::string>& args) {
  int exit_code = kExitOk;
  auto command = RankCommand::Start(args, {{"model", "input", "output-dir", "threads", "aggregate"}, {}, -1, ""}, exit_code);
  if (!command) return exit_code;
  Communicator& comm = command->world.comm();
  const bool root = command->world.root();
  auto fail = [&](const Status& s, int code) { return command->world.FailOnce(s, code); };
  const CommandLine* cl = &command->cl;
  if (!cl->positional().empty()) {
    return fail(InvalidArgument("with --model, give every model as --model (got '" + cl->positional()[0] + "' too); " +
                                kEnsembleUsage),
                kExitUsage);
  }
  if (!cl->Has("output-dir")) return fail(InvalidArgument("--output-dir is required"), kExitUsage);
  if (!cl->Has("aggregate")) return fail(InvalidArgument("an ensemble needs --aggregate sum, mean or concat"), kExitUsage);
  EnsembleRequest request;
  auto aggregation = ParseEnsembleAggregation(cl->Get("aggregate"));
  if (!aggregation.ok()) return fail(aggregation.status(), kExitUsage);
  request.aggregation = *aggregation;
  request.options.threads = command->threads;
  request.model_paths = cl->All("model");
  for (const std::string& spec : cl->All("input")) {
    auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      return fail(InvalidArgument("--input must be NAME=FILE.npy, got '" + spec + "'"), kExitUsage);
    }
    request.inputs.emplace_back(spec.substr(0, eq), spec.substr(eq + 1));
  }

  auto start = std::chrono::steady_clock::now();
  bool failed_here = false;
  auto result = RunEnsemble(comm, request, &failed_here);
  auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  // Rank 0 reports every failure (another rank's as a count); a rank whose own model failed says why.
  if (!result.ok()) return root || failed_here ? Fail(result.status()) : kExitFailure;
  if (!root) return kExitOk;
  if (Status s = WriteOutputs(*result, cl->Get("output-dir")); !s.ok()) return Fail(s);
  std::cout << "ran an ensemble of " << request.model_paths.size() << " models on " << comm.size()
            << (comm.size() == 1 ? " rank" : " ranks") << " (aggregate " << EnsembleAggregationName(request.aggregation)
            << ") in " << elapsed << " ms\n";
  return kExitOk;
}

}  // namespace tessera::cli
