// `tessera bench`: latency and throughput of one model on deterministic inputs.
//
// Inputs get shapes from --shape NAME=1x3x224x224, else from the model with symbolic dims set to 1 for
// the first dim and 128 for the others (batch and sequence length, the common meanings). Values are a
// fixed pseudo-random pattern: floats in [-1, 1), integers in [0, 100) so token ids and indices stay valid.
// --profile times every node over the timed iterations and prints the op types that take the most time
// (also in --json as "profile"); the warmup runs are not profiled. --op-times does the same and also lists
// every node with its time per inference and its fastest run.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "cli/command_line.h"
#include "cli/openmp_wait_policy.h"
#include "cli/commands.h"
#include "cli/precision_flag.h"
#include "core/thread_pool.h"
#include "runtime/node_profile.h"
#include "tessera/session.h"

namespace tessera::cli {

namespace {

StatusOr<std::map<std::string, Shape>> ParseShapes(const std::vector<std::string>& specs) {
  std::map<std::string, Shape> shapes;
  for (const std::string& spec : specs) {
    auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) return InvalidArgument("--shape must be NAME=D1xD2x..., got '" + spec + "'");
    Shape shape;
    std::stringstream ss(spec.substr(eq + 1));
    std::string dim;
    while (std::getline(ss, dim, 'x')) {
      if (dim.empty() || dim.find_first_not_of("0123456789") != std::string::npos || dim.size() > 12) {
        return InvalidArgument("--shape '" + spec + "' has a bad dim '" + dim + "'");
      }
      shape.push_back(std::stoll(dim));
    }
    shapes[spec.substr(0, eq)] = shape;
  }
  return shapes;
}

StatusOr<Tensor> MakeInput(const TensorInfo& info, const Shape& shape, uint64_t seed) {
  TS_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(info.dtype, shape));
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int64_t n = t.element_count();
  switch (info.dtype) {
    case DType::kFloat32:
      for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = static_cast<float>(next() % 20000) / 10000.0f - 1.0f;
      break;
    case DType::kInt64:
      for (int64_t i = 0; i < n; ++i) t.data<int64_t>()[i] = static_cast<int64_t>(next() % 100);
      break;
    case DType::kInt32:
      for (int64_t i = 0; i < n; ++i) t.data<int32_t>()[i] = static_cast<int32_t>(next() % 100);
      break;
    case DType::kBool:
      for (int64_t i = 0; i < n; ++i) t.data<uint8_t>()[i] = 1;
      break;
    default:
      break;  // zeros for the rarer dtypes
  }
  return t;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t k = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(k, v.size() - 1)];
}

// The op types of `profile` as a table (the top kTopOpTypes) and as a JSON array (all of them); times are per
// inference over `runs` profiled runs.
constexpr size_t kTopOpTypes = 15;

void PrintProfileTable(const std::vector<OpTypeTime>& profile, size_t runs) {
  double total = 0;
  for (const OpTypeTime& t : profile) total += t.total_ms;
  std::printf("\nprofile: %.3f ms per inference in nodes, top op types by total time\n", total / runs);
  std::printf("  %-32s %6s %12s %7s\n", "op type", "nodes", "ms/inference", "share");
  for (size_t i = 0; i < profile.size() && i < kTopOpTypes; ++i) {
    const OpTypeTime& t = profile[i];
    std::printf("  %-32s %6zu %12.3f %6.1f%%\n", t.op_type.c_str(), t.nodes, t.total_ms / runs,
                total > 0 ? 100.0 * t.total_ms / total : 0.0);
  }
}

// Every node, slowest total first: time per inference and the node's fastest single run (which a busy
// machine's preemptions mostly miss), for reading beside ONNX Runtime's per-node profile.
void PrintNodeTable(const std::vector<NodeTimeSummary>& nodes, size_t runs) {
  if (runs == 0) return;
  std::printf("\nop times: every node, by total time (ms per inference; min: fastest single run)\n");
  std::printf("  %10s %10s  %-34s %s\n", "ms/inf", "min ms", "op type", "node");
  for (const NodeTimeSummary& n : nodes) {
    std::printf("  %10.4f %10.4f  %-34s %s\n", n.total_ms / static_cast<double>(runs), n.min_ms, n.op_type.c_str(),
                n.name.c_str());
  }
}

std::string ProfileJson(const std::vector<OpTypeTime>& profile, size_t runs) {
  double total = 0;
  for (const OpTypeTime& t : profile) total += t.total_ms;
  std::string json = "[";
  char entry[512];
  for (size_t i = 0; i < profile.size(); ++i) {
    const OpTypeTime& t = profile[i];
    std::string op;  // op type names come from the model file: escape what JSON cannot carry raw
    for (char c : t.op_type) {
      if (c == '"' || c == '\\') op += '\\';
      op += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
    }
    std::snprintf(entry, sizeof(entry), "%s{\"op_type\": \"%.400s\", \"nodes\": %zu, \"ms\": %.4f, \"share\": %.4f}",
                  i == 0 ? "" : ", ", op.c_str(), t.nodes, t.total_ms / runs, total > 0 ? t.total_ms / total : 0.0);
    json += entry;
  }
  return json + "]";
}

double PeakRssMb() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

}  // namespace

int BenchCommand(const std::vector<std::string>& args) {
  auto cl = CommandLine::Parse(args, {"shape", "threads", "iters", "warmup", "precision"},
                               {"json", "profile", "op-times"});
  if (!cl.ok()) return Fail(cl.status(), kExitUsage);
  if (cl->positional().size() != 1)
    return Fail(InvalidArgument("usage: tessera bench MODEL [--shape NAME=1x3x224x224] [--threads N] [--iters N] "
                                "[--warmup N] [--precision fp32|bf16] [--json] [--profile] [--op-times]"),
                kExitUsage);
  auto threads = cl->GetInt("threads", 0, 1, 1024);
  auto iters = cl->GetInt("iters", 20, 1, 1000000);
  auto warmup = cl->GetInt("warmup", 3, 0, 1000000);
  auto shapes = ParseShapes(cl->All("shape"));
  for (const Status& s : {threads.status(), iters.status(), warmup.status(), shapes.status()}) {
    if (!s.ok()) return Fail(s, kExitUsage);
  }
  bool json = cl->Has("json");
  const bool op_times = cl->Has("op-times");
  const bool profile = cl->Has("profile") || op_times;
  auto precision = ParsePrecision(cl->Get("precision"));
  if (!precision.ok()) return Fail(precision.status(), kExitUsage);
  SessionOptions options;
  options.threads = static_cast<int>(*threads);
  options.precision = *precision;
  auto session = Session::Load(cl->positional()[0], options);
  if (!session.ok()) return Fail(session.status());

  std::vector<std::pair<std::string, Tensor>> feeds;
  uint64_t seed = 1;
  for (const TensorInfo& info : (*session)->inputs()) {
    Shape shape;
    if (auto it = shapes->find(info.name); it != shapes->end()) {
      shape = it->second;
    } else {
      for (size_t i = 0; i < info.dims.size(); ++i) shape.push_back(info.dims[i] >= 0 ? info.dims[i] : (i == 0 ? 1 : 128));
    }
    auto t = MakeInput(info, shape, seed++);
    if (!t.ok()) return Fail(t.status().WithContext("input '" + info.name + "'"));
    feeds.emplace_back(info.name, std::move(t).value());
  }

  std::vector<double> times;
  NodeProfiler profiler;
  int64_t total = *warmup + *iters;
  for (int64_t i = 0; i < total; ++i) {
    std::optional<NodeProfiler::Scope> profiling;
    if (profile && i >= *warmup) profiling.emplace(profiler);
    auto start = std::chrono::steady_clock::now();
    auto out = (*session)->Run(feeds);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!out.ok()) return Fail(out.status());
    if (i >= *warmup) times.push_back(ms);
    {  // progress goes to stderr so stdout stays parseable
      std::fprintf(stderr, "\r%s %lld/%lld  last %.2f ms", i < *warmup ? "warmup" : "bench ", static_cast<long long>(i + 1),
                   static_cast<long long>(total), ms);
    }
  }
  std::fprintf(stderr, "\n");
  double median = Percentile(times, 0.5), p90 = Percentile(times, 0.9);
  double min = *std::min_element(times.begin(), times.end());
  int64_t batch = feeds.empty() || feeds[0].second.rank() == 0 ? 1 : feeds[0].second.shape()[0];
  double throughput = 1000.0 / median * static_cast<double>(std::max<int64_t>(1, batch));
  double rss = PeakRssMb();
  const std::string wait = DescribeOpenMpWait();
  std::printf("model: %s  threads: %d  iterations: %zu  openmp wait: %s\n", (*session)->model_name().c_str(),
              options.threads > 0 ? options.threads : DefaultThreadCount(), times.size(), wait.c_str());
  std::printf("median %.3f ms  p90 %.3f ms  min %.3f ms  throughput %.2f samples/s  peak RSS %.1f MB\n", median, p90,
              min, throughput, rss);
  const std::vector<OpTypeTime> by_op = profiler.ByOpType();
  if (profile) PrintProfileTable(by_op, times.size());
  if (op_times) PrintNodeTable(profiler.ByNode(), times.size());
  if (options.precision == SessionOptions::Precision::kBFloat16) {
    // The error bf16 costs on these inputs, beside its speed (after the timing, so it does not disturb it).
    auto out = (*session)->Run(feeds);
    if (!out.ok()) return Fail(out.status());
    std::ostringstream report;
    if (Status s = PrintBf16ErrorReport(cl->positional()[0], options.threads, feeds, *out, report); !s.ok()) {
      return Fail(s);
    }
    std::fputs(report.str().c_str(), stdout);
  }
  if (json) {
    std::printf("{\"median_ms\": %.4f, \"p90_ms\": %.4f, \"min_ms\": %.4f, \"throughput_per_s\": %.4f, "
                "\"peak_rss_mb\": %.2f, \"iterations\": %zu, \"openmp_wait\": \"%s\"%s%s}\n",
                median, p90, min, throughput, rss, times.size(), wait.c_str(), profile ? ", \"profile\": " : "",
                profile ? ProfileJson(by_op, times.size()).c_str() : "");
  }
  return kExitOk;
}

}  // namespace tessera::cli
