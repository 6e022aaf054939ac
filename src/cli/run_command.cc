// `tessera run`: load a model, feed .npy inputs, write every output as .npy.
#include <chrono>
#include <filesystem>
#include <iostream>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "core/npy.h"
#include "parallel/comm/agreement.h"
#include "parallel/comm/communicator.h"
#include "parallel/data/data_parallel.h"
#include "parallel/plan_spec.h"
#include "tessera/session.h"

namespace tessera::cli {

namespace {

struct InputFile {
  std::string name;
  std::string path;
};

StatusOr<std::vector<InputFile>> ParseInputs(const std::vector<std::string>& specs) {
  std::vector<InputFile> inputs;
  for (const std::string& spec : specs) {
    auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      return InvalidArgument("--input must be NAME=FILE.npy, got '" + spec + "'");
    }
    inputs.push_back({spec.substr(0, eq), spec.substr(eq + 1)});
  }
  return inputs;
}

// Matches a user's NAME to a model input after sanitising both.
StatusOr<std::string> MatchInputName(const Session& session, const std::string& name) {
  for (const TensorInfo& info : session.inputs()) {
    if (info.name == name) return info.name;
  }
  for (const TensorInfo& info : session.inputs()) {
    if (SanitizeName(info.name) == SanitizeName(name)) return info.name;
  }
  std::string known;
  for (const TensorInfo& info : session.inputs()) known += (known.empty() ? "" : ", ") + info.name;
  return InvalidArgument("model '" + session.model_name() + "' has no input '" + name + "' (inputs: " + known + ")");
}

// Reads every --input on the root, in the session's input order.
StatusOr<std::vector<Tensor>> ReadFeeds(const Session& session, const std::vector<InputFile>& files) {
  std::vector<Tensor> feeds(session.inputs().size());
  for (const InputFile& in : files) {
    TS_ASSIGN_OR_RETURN(std::string name, MatchInputName(session, in.name));
    auto tensor = ReadNpy(in.path);
    if (!tensor.ok()) return tensor.status().WithContext("input '" + in.name + "'");
    for (size_t i = 0; i < feeds.size(); ++i) {
      if (session.inputs()[i].name == name) feeds[i] = std::move(tensor).value();
    }
  }
  return feeds;
}

Status WriteOutputs(const Session& session, const std::vector<Tensor>& outputs, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return IoError("cannot create output folder '" + dir + "': " + ec.message());
  const auto& infos = session.outputs();
  for (size_t i = 0; i < infos.size() && i < outputs.size(); ++i) {
    std::string path = (std::filesystem::path(dir) / (SanitizeName(infos[i].name) + ".npy")).string();
    TS_RETURN_IF_ERROR(WriteNpy(path, outputs[i]));
    std::cout << infos[i].name << ": " << DTypeName(outputs[i].dtype()) << " " << ShapeToString(outputs[i].shape()) << " -> "
              << path << "\n";
  }
  return Status::Ok();
}

StatusOr<PlanSpec> ParsePlanFlags(const CommandLine& cl) {
  PlanSpec spec;
  TS_ASSIGN_OR_RETURN(int64_t dp, cl.GetInt("dp", 0, 1, 1 << 20));
  TS_ASSIGN_OR_RETURN(int64_t pp, cl.GetInt("pp", 1, 1, 1 << 20));
  TS_ASSIGN_OR_RETURN(int64_t tp, cl.GetInt("tp", 1, 1, 1 << 20));
  TS_ASSIGN_OR_RETURN(int64_t mb, cl.GetInt("micro-batches", 1, 1, 1 << 20));
  spec.dp = static_cast<int>(dp);
  spec.pp = static_cast<int>(pp);
  spec.tp = static_cast<int>(tp);
  spec.micro_batches = static_cast<int>(mb);
  return spec;
}

}  // namespace

// Under a launcher every rank runs this. Failures every rank sees alike (flags, plan, model, the root's
// inputs) are printed once, by rank 0, and every rank exits with the same status; a failure on one
// replica during the run ends the job through Communicator::Abort.
int RunCommand(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--model" || a.rfind("--model=", 0) == 0) return RunEnsembleCommand(args);  // ensemble_command.cc
  }
  auto cl = CommandLine::Parse(args, {"input", "output-dir", "threads", "dp", "pp", "tp", "micro-batches"}, {});
  auto world = OpenWorld();
  if (!world.ok()) return Fail(world.status());
  Communicator& comm = **world;
  const bool root = comm.rank() == 0;
  auto fail = [&](const Status& s, int code) { return root ? Fail(s, code) : code; };

  if (!cl.ok()) return fail(cl.status(), kExitUsage);
  if (cl->positional().size() != 1) {
    return fail(InvalidArgument("usage: tessera run MODEL --input NAME=FILE.npy ... --output-dir DIR [--dp D --pp P --tp T]"),
                kExitUsage);
  }
  if (!cl->Has("output-dir")) return fail(InvalidArgument("--output-dir is required"), kExitUsage);
  auto threads = cl->GetInt("threads", 0, 1, 1024);
  if (!threads.ok()) return fail(threads.status(), kExitUsage);
  auto input_files = ParseInputs(cl->All("input"));
  if (!input_files.ok()) return fail(input_files.status(), kExitUsage);
  auto spec = ParsePlanFlags(*cl);
  if (!spec.ok()) return fail(spec.status(), kExitUsage);
  if (Status s = ResolvePlan(*spec, comm.size()); !s.ok()) return fail(s, kExitUsage);
  if (spec->pp > 1 || spec->tp > 1) {
    return fail(Unimplemented("pipeline and tensor parallelism (--pp, --tp) are not available yet; use --dp"), kExitFailure);
  }

  SessionOptions options;
  options.threads = static_cast<int>(*threads);
  auto session = Session::Load(cl->positional()[0], options);
  if (Status s = AgreeAll(comm, session.status()); !s.ok()) {
    // A rank whose own load failed says why; when only others failed, rank 0 says so.
    return !session.ok() && (root || comm.size() > 1) ? Fail(s) : fail(s, kExitFailure);
  }

  StatusOr<std::vector<Tensor>> feeds = std::vector<Tensor>{};
  if (root) feeds = ReadFeeds(**session, *input_files);
  if (Status s = AgreeOnRoot(comm, 0, feeds.status()); !s.ok()) return fail(s, kExitFailure);

  auto start = std::chrono::steady_clock::now();
  StatusOr<std::vector<Tensor>> outputs = std::vector<Tensor>{};
  if (comm.size() == 1) {
    std::vector<std::pair<std::string, Tensor>> named;
    for (size_t i = 0; i < feeds->size(); ++i) {
      if ((*feeds)[i].defined()) named.emplace_back((*session)->inputs()[i].name, (*feeds)[i]);
    }
    outputs = (*session)->Run(named);
  } else {
    outputs = RunDataParallel(**session, comm, *feeds);
  }
  auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!outputs.ok()) return fail(outputs.status(), kExitFailure);
  if (!root) return kExitOk;

  if (Status s = WriteOutputs(**session, *outputs, cl->Get("output-dir")); !s.ok()) return Fail(s);
  std::cout << "ran '" << (*session)->model_name() << "'";
  if (comm.size() > 1) std::cout << " on " << comm.size() << " ranks (dp " << spec->dp << ")";
  std::cout << " in " << elapsed << " ms, peak tensor memory " << (*session)->last_run_stats().peak_bytes / 1024 << " KiB\n";
  return kExitOk;
}

}  // namespace tessera::cli
