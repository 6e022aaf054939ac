// `tessera run`: load a model, feed .npy inputs, write every output as .npy.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include "cli/command_line.h"
#include "cli/rank_command.h"
#include "cli/commands.h"
#include "cli/model_broadcast.h"
#include "cli/precision_flag.h"
#include "cli/op_times.h"
#include "cli/rank_report.h"
#include "cli/run_values.h"
#include "core/units.h"
#include "core/npy.h"
#include "parallel/comm/agreement.h"
#include "parallel/comm/communicator.h"
#include "parallel/data/batch_split.h"
#include "parallel/pipeline/node_times.h"
#include "parallel/pipeline/pipeline_schedule.h"
#include "parallel/plan_runner.h"
#include "parallel/plan_spec.h"

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
      return InvalidArgument("--input must be NAME=FILE.npy (or NAME=DIR for a sequence), got '" + spec + "'");
    }
    inputs.push_back({spec.substr(0, eq), spec.substr(eq + 1)});
  }
  return inputs;
}

// Matches a user's NAME to a model input after sanitising both.
StatusOr<std::string> MatchInputName(const std::vector<TensorInfo>& inputs, const std::string& model,
                                     const std::string& name) {
  for (const TensorInfo& info : inputs) {
    if (info.name == name) return info.name;
  }
  for (const TensorInfo& info : inputs) {
    if (SanitizeName(info.name) == SanitizeName(name)) return info.name;
  }
  std::string known;
  for (const TensorInfo& info : inputs) known += (known.empty() ? "" : ", ") + info.name;
  return InvalidArgument("model '" + model + "' has no input '" + name + "' (inputs: " + known + ")");
}

// Reads every --input on the root, in the model's input order.
StatusOr<std::vector<Tensor>> ReadFeeds(const std::vector<TensorInfo>& inputs, const std::string& model,
                                        const std::vector<InputFile>& files) {
  std::vector<Tensor> feeds(inputs.size());
  for (const InputFile& in : files) {
    TS_ASSIGN_OR_RETURN(std::string name, MatchInputName(inputs, model, in.name));
    auto tensor = ReadNpy(in.path);
    if (!tensor.ok()) return tensor.status().WithContext("input '" + in.name + "'");
    for (size_t i = 0; i < feeds.size(); ++i) {
      if (inputs[i].name != name) continue;
      // Types numpy lacks arrive as raw codes (core/npy.h); they become the declared type here.
      auto converted = ConvertNpyToDeclared(std::move(tensor).value(), inputs[i].dtype, "input '" + in.name + "'");
      if (!converted.ok()) return converted.status();
      feeds[i] = std::move(converted).value();
      break;
    }
  }
  for (size_t i = 0; i < feeds.size(); ++i) {
    if (!feeds[i].defined()) return InvalidArgument("model '" + model + "': missing input '" + inputs[i].name + "'");
  }
  return feeds;
}

// --profile, on the root: the whole model run on the first micro-batch of the inputs (the size each stage
// will run: a node's time does not scale with the batch alike for all nodes; at one image ResNet-50's
// late layers, which stream large weights for few pixels, take a larger share than at eight), each
// node's time in seconds.
StatusOr<std::vector<double>> ProfileNodes(const std::string& model_path, const SessionOptions& options,
                                           const std::vector<InputFile>& files, int micro_batches) {
  TS_ASSIGN_OR_RETURN(ProfiledModel model, LoadForProfiling(model_path, options));
  const Session& session = *model.session;
  TS_ASSIGN_OR_RETURN(std::vector<Tensor> feeds, ReadFeeds(session.inputs(), session.model_name(), files));
  if (micro_batches > 1) {
    auto batch = BatchOfFeeds(session.inputs(), feeds, session.model_name());
    if (batch.ok() && *batch > 1) {
      const BatchSlices slices = SplitBatch(*batch, EffectiveMicroBatches(*batch, micro_batches));
      for (Tensor& t : feeds) {
        TS_ASSIGN_OR_RETURN(t, SliceOfBatch(t, *batch, 0, slices.rows[0]));
      }
    }
  }
  std::vector<std::pair<std::string, Tensor>> named;
  for (size_t i = 0; i < feeds.size(); ++i) named.emplace_back(session.inputs()[i].name, feeds[i]);
  return MeasureNodeSeconds(model, named);
}

// Every rank gets the root's measured node times (collective).
StatusOr<std::vector<double>> ShareNodeTimes(Communicator& comm, const StatusOr<std::vector<double>>& mine) {
  TS_RETURN_IF_ERROR(AgreeOnRoot(comm, 0, mine.status()));
  Tensor times = comm.rank() == 0
                     ? Tensor::FromVector<double>(DType::kFloat64, {static_cast<int64_t>(mine->size())}, *mine)
                     : Tensor();
  TS_RETURN_IF_ERROR(comm.Broadcast(times, 0));
  return std::vector<double>(times.data<double>(), times.data<double>() + times.element_count());
}

Status WriteOutputs(const std::vector<TensorInfo>& infos, const std::vector<Tensor>& outputs, const std::string& dir,
                    bool quiet) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return IoError("cannot create output folder '" + dir + "': " + ec.message());
  for (size_t i = 0; i < infos.size() && i < outputs.size(); ++i) {
    std::string path = (std::filesystem::path(dir) / (SanitizeName(infos[i].name) + ".npy")).string();
    TS_RETURN_IF_ERROR(WriteNpy(path, outputs[i]));
    if (quiet) continue;
    std::cout << infos[i].name << ": " << DTypeName(outputs[i].dtype()) << " " << ShapeToString(outputs[i].shape())
              << " -> " << path << "\n";
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

std::string PlanText(const PlanSpec& spec) {
  return "dp " + std::to_string(spec.dp) + " x pp " + std::to_string(spec.pp) + " x tp " + std::to_string(spec.tp) +
         (spec.pp > 1 ? ", " + std::to_string(spec.micro_batches) + " micro-batch(es)" : "");
}

}  // namespace

// Under a launcher every rank runs this. Failures every rank sees alike (flags, plan, model, the root's
// inputs) are printed once, by rank 0, and every rank exits with the same status; a failure on one
// rank while building its part is printed by that rank; a failure on one rank during the run ends the
// job through Communicator::Abort.
int RunCommand(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--model" || a.rfind("--model=", 0) == 0) return RunEnsembleCommand(args);  // ensemble_command.cc
  }
  int exit_code = kExitOk;
  auto command = RankCommand::Start(
      args,
      {{"input", "output-dir", "threads", "dp", "pp", "tp", "micro-batches", "repeat", "mem-per-rank", "precision"},
       {"profile", "stream", "op-times", "json", "broadcast-weights"},
       1,
       "usage: tessera run MODEL --input NAME=FILE.npy|DIR ... --output-dir DIR [--dp D --pp P --tp T] "
       "[--micro-batches M] [--profile] [--repeat N [--stream]] [--op-times] [--mem-per-rank BYTES] [--json] "
       "[--broadcast-weights] [--precision fp32|bf16] [--link-key FILE]"},
      exit_code);
  if (!command) return exit_code;
  Communicator& comm = command->world.comm();
  const bool root = command->world.root();
  auto fail = [&](const Status& s, int code) { return command->world.FailOnce(s, code); };
  const CommandLine* cl = &command->cl;

  if (!cl->Has("output-dir")) return fail(InvalidArgument("--output-dir is required"), kExitUsage);
  auto repeat = cl->GetInt("repeat", 1, 1, 1 << 20);
  if (!repeat.ok()) return fail(repeat.status(), kExitUsage);
  // --stream times N batches as one stream, so it needs the N: no default that would time one batch.
  if (cl->Has("stream") && !cl->Has("repeat")) {
    return fail(InvalidArgument("--stream needs --repeat N: the number of batches to stream"), kExitUsage);
  }
  auto input_files = ParseInputs(cl->All("input"));
  if (!input_files.ok()) return fail(input_files.status(), kExitUsage);
  auto spec = ParsePlanFlags(*cl);
  if (!spec.ok()) return fail(spec.status(), kExitUsage);
  if (Status s = ResolvePlan(*spec, comm.size()); !s.ok()) return fail(s, kExitUsage);

  // Where this rank reads the model: the path given, or with --broadcast-weights (hosts without the files)
  // the copy rank 0 sent, removed again once the plan is built (model_broadcast.h).
  std::optional<SharedModelFiles> shared_files;
  std::string model_path = cl->positional()[0];
  if (cl->Has("broadcast-weights") && comm.size() > 1) {
    auto shared = SharedModelFiles::Share(comm, model_path);
    if (!shared.ok()) return fail(shared.status(), kExitFailure);
    shared_files.emplace(std::move(shared).value());
    model_path = shared_files->path();
  }
  if (cl->Has("mem-per-rank")) {
    // Refused before any weight is read when the plan's largest rank would not fit; then the cap binds
    // every buffer the rank allocates, so a misestimate fails with a message instead of the system's
    // out-of-memory killer.
    auto cap = ParseByteSize(cl->Get("mem-per-rank"));
    if (!cap.ok()) return fail(cap.status().WithContext("--mem-per-rank"), kExitUsage);
    if (Status s = CheckMemoryPerRank(model_path, *spec, *cap); !s.ok()) return fail(s, kExitFailure);
    Buffer::set_limit_bytes(static_cast<size_t>(*cap));
  }
  const bool json = cl->Has("json");

  auto precision = ParsePrecision(cl->Get("precision"));
  if (!precision.ok()) return fail(precision.status(), kExitUsage);
  PlanRunnerOptions options;
  options.spec = *spec;
  options.session.threads = command->threads;
  options.session.precision = *precision;
  if (cl->Has("profile") && spec->pp > 1) {
    // Balance the stages on measured node times: rank 0 runs the whole model once first.
    StatusOr<std::vector<double>> measured = std::vector<double>{};
    if (root) measured = ProfileNodes(cl->positional()[0], options.session, *input_files, spec->micro_batches);
    auto shared = ShareNodeTimes(comm, measured);
    if (!shared.ok()) return fail(shared.status(), kExitFailure);
    options.partition.node_seconds = std::move(shared).value();
  }
  bool report = false;
  auto runner = PlanRunner::Create(comm, model_path, options, report);
  shared_files.reset();
  if (!runner.ok()) return report ? Fail(runner.status()) : kExitFailure;
  if (HasNonTensorValues((*runner)->session())) {
    // Sequences and optionals travel in files of their own layout (run_values.h), on one process only.
    if (comm.size() > 1) {
      return fail(Unimplemented("models with sequence, map or optional inputs or outputs run on one rank"),
                  kExitFailure);
    }
    std::vector<std::pair<std::string, std::string>> named;
    for (const InputFile& in : *input_files) named.emplace_back(in.name, in.path);
    Status s = RunValuesAndWrite((*runner)->session(), named, cl->Get("output-dir"), *repeat, json);
    return s.ok() ? kExitOk : Fail(s);
  }
  StatusOr<std::vector<Tensor>> feeds = std::vector<Tensor>{};
  if (root) feeds = ReadFeeds((*runner)->inputs(), (*runner)->model_name(), *input_files);
  if (Status s = AgreeOnRoot(comm, 0, feeds.status()); !s.ok()) return fail(s, kExitFailure);

  StatusOr<std::vector<Tensor>> outputs = std::vector<Tensor>{};
  std::vector<double> times;
  const bool op_times = cl->Has("op-times");
  NodeProfiler profiler;
  if (cl->Has("stream")) {
    // One untimed stream first: the first inferences of a process pay for fresh memory and lazy kernel
    // state, which a steady stream does not.
    outputs = (*runner)->Run(*feeds, 3);
    if (!outputs.ok()) return fail(outputs.status(), kExitFailure);
    std::optional<NodeProfiler::Scope> profiling;
    if (op_times) profiling.emplace(profiler);
    auto start = std::chrono::steady_clock::now();
    outputs = (*runner)->Run(*feeds, static_cast<int>(*repeat));
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    if (!outputs.ok()) return fail(outputs.status(), kExitFailure);
  } else {
    for (int64_t i = 0; i < *repeat; ++i) {
      // The first run is the warm-up (primitives, fresh memory): --op-times leaves it out when it can.
      std::optional<NodeProfiler::Scope> profiling;
      if (op_times && (i > 0 || *repeat == 1)) profiling.emplace(profiler);
      auto start = std::chrono::steady_clock::now();
      outputs = (*runner)->Run(*feeds);
      times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
      if (!outputs.ok()) return fail(outputs.status(), kExitFailure);
    }
  }
  std::vector<double> busy_ms;
  if (op_times && comm.size() > 1) {
    auto gathered = GatherBusyTimes(comm, profiler);
    if (!gathered.ok()) return fail(gathered.status(), kExitFailure);
    busy_ms = std::move(gathered).value();
  }
  // The stages with each one's resident memory once it has run (kernels create some state lazily).
  auto stages = (*runner)->DescribeStages();
  if (!stages.ok()) return fail(stages.status(), kExitFailure);
  auto reports = GatherRankReports(comm, **runner);
  if (!reports.ok()) return fail(reports.status(), kExitFailure);
  if (!root) return kExitOk;
  if (Status s = WriteOutputs((*runner)->outputs(), *outputs, cl->Get("output-dir"), json); !s.ok()) return Fail(s);
  if (json) {
    std::vector<double> sorted = times;
    std::sort(sorted.begin(), sorted.end());
    char numbers[160];
    std::snprintf(numbers, sizeof numbers, "\"ranks\": %d, \"dp\": %d, \"pp\": %d, \"tp\": %d, \"median_ms\": %.3f",
                  comm.size(), spec->dp, spec->pp, spec->tp, sorted[sorted.size() / 2]);
    std::cout << "{\"model\": " << JsonString((*runner)->model_name()) << ", " << numbers
              << ", \"rank_reports\": " << RankReportsJson(*reports) << "}\n";
    return kExitOk;
  }
  std::cout << *stages;
  if (*precision == SessionOptions::Precision::kBFloat16) {
    std::vector<std::pair<std::string, Tensor>> named;
    for (size_t i = 0; i < feeds->size() && i < (*runner)->inputs().size(); ++i) {
      named.emplace_back((*runner)->inputs()[i].name, (*feeds)[i]);
    }
    if (Status s = PrintBf16ErrorReport(cl->positional()[0], command->threads, named, *outputs, std::cout); !s.ok()) {
      return Fail(s);
    }
  }
  std::cout << "ran '" << (*runner)->model_name() << "'";
  if (comm.size() > 1) {
    std::cout << " on " << comm.size() << " ranks (" << PlanText(*spec) << "; links: " << comm.link_protection() << ")";
  }
  std::cout << " in " << times.back() << " ms" << (cl->Has("stream") ? " (the whole stream)" : "")
            << ", peak tensor memory "
            << (*runner)->session().last_run_stats().peak_bytes / 1024 << " KiB\n";
  const int64_t rows = !feeds->empty() && (*feeds)[0].rank() >= 1 ? (*feeds)[0].dim(0) : 1;
  if (cl->Has("stream")) {
    const double per_batch = times.back() / static_cast<double>(*repeat);
    char line[160];  // fixed notation: scripts read these numbers
    std::snprintf(line, sizeof line, "streamed %lld batches in %.3f ms: %.3f ms per batch, %.2f samples/s\n",
                  static_cast<long long>(*repeat), times.back(), per_batch, rows * 1000.0 / per_batch);
    std::cout << line;
  } else if (times.size() > 1) {
    // Throughput over the repeats: the rows of the batch per second of the median run.
    std::vector<double> sorted = times;
    std::sort(sorted.begin(), sorted.end());
    double median = sorted[sorted.size() / 2];
    std::cout << "runs:";
    for (double t : times) std::cout << " " << t;
    std::cout << " ms\nmedian " << median << " ms over " << times.size() << " runs, " << rows * 1000.0 / median
              << " samples/s\n";
  }
  if (op_times && cl->Has("stream")) {
    PrintOpTimes(profiler, times.back(), static_cast<size_t>(*repeat), "the stream of " + std::to_string(*repeat) + " batches",
                 busy_ms);
  } else if (op_times) {
    // The first run is the warm-up and was not profiled, unless it was the only one.
    const size_t first = *repeat > 1 ? 1 : 0;
    double total = 0;
    for (size_t i = first; i < times.size(); ++i) total += times[i];
    PrintOpTimes(profiler, total, times.size() - first,
                 "runs " + std::to_string(first + 1) + "-" + std::to_string(times.size()), busy_ms);
  }
  return kExitOk;
}

}  // namespace tessera::cli
