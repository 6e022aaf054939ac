// `tessera plan MODEL`: how a dp × pp × tp plan splits a model, or which plan suits a rank count.
#include <fstream>
#include <iostream>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "core/units.h"
#include "graph/cost_model.h"
#include "model/onnx_loader.h"
#include "parallel/comm/link_key.h"
#include "parallel/plan_spec.h"
#include "parallel/planner/auto_plan.h"
#include "parallel/planner/plan_dot.h"
#include "parallel/planner/plan_estimate.h"
#include "runtime/session_factory.h"

namespace tessera::cli {

namespace {

constexpr const char* kPlanUsage =
    "usage: tessera plan MODEL [--dp D --pp P --tp T | --ranks N] [--micro-batches M] [--dot FILE]\n"
    "       tessera plan MODEL --auto --ranks N [--objective latency|throughput] [--link-gbps G] [--link-us U]\n"
    "                          [--gflops F] [--mem-per-rank BYTES | --memory-gb M] [--dot FILE]\n"
    "       either form: [--link-key FILE] (the key file the job will use; else $TESSERA_LINK_KEY_FILE)";

StatusOr<double> GetPositive(const CommandLine& cl, const std::string& flag, double fallback) {
  if (!cl.Has(flag)) return fallback;
  const std::string v = cl.Get(flag);
  size_t used = 0;
  double x = 0;
  try {
    x = std::stod(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (v.empty() || used != v.size() || !(x > 0) || x > 1e12) {
    return InvalidArgument("--" + flag + " must be a positive number, got '" + v + "'");
  }
  return x;
}

StatusOr<PlanCostModel> ParseCostModel(const CommandLine& cl) {
  PlanCostModel model;
  TS_ASSIGN_OR_RETURN(double gflops, GetPositive(cl, "gflops", model.flops_per_second / 1e9));
  TS_ASSIGN_OR_RETURN(double gbps, GetPositive(cl, "link-gbps", model.link_bytes_per_second * 8 / 1e9));
  TS_ASSIGN_OR_RETURN(double us, GetPositive(cl, "link-us", model.link_latency_seconds * 1e6));
  model.flops_per_second = gflops * 1e9;
  model.link_bytes_per_second = gbps * 1e9 / 8;
  model.link_latency_seconds = us * 1e-6;
  return model;
}

// The plan the flags ask for (without --auto): dp defaults to what --ranks leaves, else 1.
StatusOr<PlanSpec> ParseSpec(const CommandLine& cl) {
  PlanSpec spec;
  TS_ASSIGN_OR_RETURN(int64_t dp, cl.GetInt("dp", 0, 1, 4096));
  TS_ASSIGN_OR_RETURN(int64_t pp, cl.GetInt("pp", 1, 1, 4096));
  TS_ASSIGN_OR_RETURN(int64_t tp, cl.GetInt("tp", 1, 1, 4096));
  TS_ASSIGN_OR_RETURN(int64_t mb, cl.GetInt("micro-batches", 1, 1, 4096));
  TS_ASSIGN_OR_RETURN(int64_t ranks, cl.GetInt("ranks", 0, 1, 4096));
  spec = {static_cast<int>(dp), static_cast<int>(pp), static_cast<int>(tp), static_cast<int>(mb)};
  if (ranks > 0) {
    TS_RETURN_IF_ERROR(ResolvePlan(spec, static_cast<int>(ranks)));
  } else if (spec.dp == 0) {
    spec.dp = 1;
  }
  return spec;
}

Status WriteDot(const std::string& path, const Graph& graph, const PlanEstimate& estimate) {
  std::ofstream out(path);
  if (out) out << PlanToDot(graph, estimate);
  if (!out) return IoError("cannot write '" + path + "'");
  std::cout << "wrote " << path << " (" << graph.nodes.size() << " nodes, coloured by stage)\n";
  return Status::Ok();
}

}  // namespace

int PlanCommand(const std::vector<std::string>& args) {
  auto cl = CommandLine::Parse(args,
                               {"dp", "pp", "tp", "ranks", "micro-batches", "dot", "link-gbps", "link-us", "objective",
                                "gflops", "memory-gb", "mem-per-rank", "link-key"},
                               {"auto"});
  if (!cl.ok()) return Fail(cl.status(), kExitUsage);
  if (cl->positional().size() != 1) return Fail(InvalidArgument(kPlanUsage), kExitUsage);
  const bool automatic = cl->Has("auto");
  // The job's links as `run` would set them up: the key file is checked now, not at launch.
  const std::string key_file = LinkKeyFilePath(cl->Get("link-key"));
  if (!key_file.empty()) {
    if (auto secret = ReadLinkKeyFile(key_file); !secret.ok()) return Fail(secret.status(), kExitUsage);
  }
  auto model = ParseCostModel(*cl);
  if (!model.ok()) return Fail(model.status(), kExitUsage);
  auto memory_gb = GetPositive(*cl, "memory-gb", 0);
  if (!memory_gb.ok()) return Fail(memory_gb.status(), kExitUsage);
  double memory_limit = *memory_gb * 1e9;
  if (cl->Has("mem-per-rank")) {
    if (cl->Has("memory-gb")) return Fail(InvalidArgument("give --mem-per-rank or --memory-gb, not both"), kExitUsage);
    auto cap = ParseByteSize(cl->Get("mem-per-rank"));
    if (!cap.ok()) return Fail(cap.status().WithContext("--mem-per-rank"), kExitUsage);
    memory_limit = *cap;
  }

  PlanObjective objective = PlanObjective::kLatency;
  PlanSpec spec;
  int ranks = 0;
  if (automatic) {
    for (const char* flag : {"dp", "pp", "tp"}) {
      if (cl->Has(flag)) return Fail(InvalidArgument(std::string("--auto chooses --") + flag + " itself; give only --ranks"), kExitUsage);
    }
    if (!cl->Has("ranks")) return Fail(InvalidArgument("--auto needs --ranks N"), kExitUsage);
    auto n = cl->GetInt("ranks", 0, 1, 4096);
    if (!n.ok()) return Fail(n.status(), kExitUsage);
    ranks = static_cast<int>(*n);
    auto mb = cl->GetInt("micro-batches", 1, 1, 4096);
    if (!mb.ok()) return Fail(mb.status(), kExitUsage);
    spec.micro_batches = static_cast<int>(*mb);
    const std::string name = cl->Get("objective", "latency");
    if (name == "throughput") {
      objective = PlanObjective::kThroughput;
    } else if (name != "latency") {
      return Fail(InvalidArgument("--objective must be latency or throughput, got '" + name + "'"), kExitUsage);
    }
  } else {
    if (cl->Has("objective")) return Fail(InvalidArgument("--objective applies only with --auto"), kExitUsage);
    if (cl->Has("memory-gb") || cl->Has("mem-per-rank")) {
      return Fail(InvalidArgument("--memory-gb and --mem-per-rank apply only with --auto"), kExitUsage);
    }
    auto parsed = ParseSpec(*cl);
    if (!parsed.ok()) return Fail(parsed.status(), kExitUsage);
    spec = *parsed;
  }

  // Plans need the weights' sizes, never their bytes: they stay unread in the file.
  LoadOptions load_options = KernelAwareLoadOptions();
  load_options.defer_weight_copies = true;
  auto loaded = LoadModelFromFile(cl->positional()[0], load_options);
  if (!loaded.ok()) return Fail(loaded.status());
  const Graph& graph = *loaded->graph;
  CostOptions cost{1.0};  // as the planners count: symbolic dims at 1, missing shapes guessed
  const std::vector<double> elements = EstimateValueElements(graph, cost);
  cost.value_elements = &elements;
  std::cout << "model: " << loaded->display_name << ", " << graph.nodes.size() << " nodes, "
            << FormatFlops(EstimateGraphFlops(graph, cost)) << " per inference\n";

  StatusOr<PlanEstimate> estimate = Internal("no plan");
  if (automatic) {
    auto chosen = ChoosePlan(graph, ranks, spec.micro_batches, objective, *model, memory_limit);
    if (!chosen.ok()) return Fail(chosen.status());
    std::cout << DescribeAutoPlan(*chosen) << "\n";
    if (memory_limit > 0) {
      size_t fitting = 0;
      for (const PlanCandidate& c : chosen->candidates) fitting += c.fits ? 1 : 0;
      const PlanEstimate& e = *chosen->candidates[chosen->chosen].estimate;
      std::cout << "memory: " << fitting << " of " << chosen->candidates.size() << " plans fit "
                << FormatBytes(memory_limit) << " per rank; the chosen plan's largest rank holds about "
                << FormatBytes(e.max_rank_memory_bytes) << " (its weights and largest activations) of the model's "
                << FormatBytes(e.total_weight_bytes) << " of weights\n";
    }
    estimate = chosen->candidates[chosen->chosen].estimate;
  } else {
    estimate = EstimatePlan(graph, spec, *model);
    if (!estimate.ok()) return Fail(estimate.status().WithContext("model '" + loaded->display_name + "'"));
  }
  std::cout << DescribePlanEstimate(*estimate, *model);
  std::cout << "links: " << (key_file.empty() ? "plain, unauthenticated" : kSealedLinksText) << "\n";
  if (cl->Has("dot")) {
    if (Status s = WriteDot(cl->Get("dot"), graph, *estimate); !s.ok()) return Fail(s);
  }
  return kExitOk;
}

}  // namespace tessera::cli
