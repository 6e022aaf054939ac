// Enumerating, estimating and ranking the plans for a rank count.
#include "parallel/planner/auto_plan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace tessera {

namespace {

std::string Name(const PlanSpec& s) {
  return "dp " + std::to_string(s.dp) + " x pp " + std::to_string(s.pp) + " x tp " + std::to_string(s.tp);
}

// Whether `a` beats `b` for the objective. Within 1% counts as a tie, settled by the other objective
// (so ranks that would only replicate work, a tp group with nothing to split, lose to ranks that serve
// more), then by fewer bytes moved.
bool Better(const PlanEstimate& a, const PlanEstimate& b, PlanObjective objective) {
  auto compare = [](double va, double vb) {  // -1: a better (smaller), 1: b better, 0: tie
    double scale = std::max(std::abs(va), std::abs(vb));
    if (std::abs(va - vb) <= 0.01 * scale) return 0;
    return va < vb ? -1 : 1;
  };
  const int latency = compare(a.latency_seconds, b.latency_seconds);
  const int throughput = compare(-a.throughput_per_second, -b.throughput_per_second);
  const int first = objective == PlanObjective::kLatency ? latency : throughput;
  const int second = objective == PlanObjective::kLatency ? throughput : latency;
  if (first != 0) return first < 0;
  if (second != 0) return second < 0;
  return a.comm_bytes() < b.comm_bytes();
}

std::string Why(const AutoPlan& plan, const PlanEstimate& best, const PlanEstimate* runner_up) {
  std::ostringstream why;
  const bool latency = plan.objective == PlanObjective::kLatency;
  why << "objective " << (latency ? "latency" : "throughput") << ": " << Name(best.spec) << " gives "
      << (latency ? FormatSeconds(best.latency_seconds) + " per inference" : FormatRate(best.throughput_per_second) + " inferences/s");
  if (runner_up) {
    why << "; the next best, " << Name(runner_up->spec) << ", gives "
        << (latency ? FormatSeconds(runner_up->latency_seconds) : FormatRate(runner_up->throughput_per_second) + " inferences/s");
  }
  why << ".\n";
  const PlanSpec& s = best.spec;
  if (s.tp > 1) {
    double split = 0, total = 0;
    for (const StageEstimate& st : best.stages) {
      double busiest = 0, unsplit = 0;
      for (const ShardEstimate& sh : st.shards) {
        busiest = std::max(busiest, sh.flops);
        unsplit = sh.unsplit_flops;
      }
      total += unsplit;
      split += unsplit - busiest;
    }
    if (split > 0) {
      why << "tp " << s.tp << " takes " << FormatFlops(split) << " of " << FormatFlops(total)
          << " off the busiest rank of each stage, for " << FormatBytes(best.tensor_bytes) << " of collectives per inference.\n";
    } else {
      why << "tp " << s.tp << " finds nothing to split in this model, so its ranks repeat the same work.\n";
    }
  }
  if (s.pp > 1) {
    why << "pp " << s.pp << " spreads the weights (at most " << FormatBytes(best.max_rank_memory_bytes)
        << " per rank) and moves " << FormatBytes(best.pipeline_bytes) << " across its cuts per inference.\n";
  }
  const std::string batch = std::to_string(static_cast<long long>(best.batch));
  if (s.dp > 1 && !latency) why << "dp " << s.dp << " replicas serve separate inferences without communicating.\n";
  if (s.dp > 1 && latency && best.batch >= 2) {
    why << "dp " << s.dp << " splits the batch of " << batch << " and sends " << FormatBytes(best.data_bytes)
        << " of inputs and outputs.\n";
  }
  if (s.dp > 1 && latency && best.batch < 2) {
    why << "one sample (the model's batch is 1 or symbolic) cannot be split, so dp " << s.dp << " does not shorten one inference; no plan does better, and its"
        << " replicas serve the most inferences (" << FormatRate(best.throughput_per_second) << "/s).\n";
  }
  if (s.dp == 1 && latency && best.batch <= 1) {
    why << "dp would not help: one inference is one sample (the model's batch is 1 or symbolic), which cannot be split.\n";
  }
  return why.str();
}

}  // namespace

StatusOr<AutoPlan> ChoosePlan(const Graph& graph, int ranks, int micro_batches, PlanObjective objective,
                              const PlanCostModel& model, double memory_limit_bytes) {
  if (ranks < 1) return InvalidArgument("--ranks must be at least 1");
  AutoPlan plan;
  plan.objective = objective;
  for (int dp = ranks; dp >= 1; --dp) {
    if (ranks % dp) continue;
    for (int pp = 1; pp <= ranks / dp; ++pp) {
      if ((ranks / dp) % pp) continue;
      PlanCandidate c;
      c.spec = {dp, pp, ranks / dp / pp, micro_batches};
      c.estimate = EstimatePlan(graph, c.spec, model);
      c.fits = c.estimate.ok() && (memory_limit_bytes <= 0 || c.estimate->max_rank_memory_bytes <= memory_limit_bytes);
      plan.candidates.push_back(std::move(c));
    }
  }
  const PlanEstimate* best = nullptr;
  const PlanEstimate* second = nullptr;
  for (size_t i = 0; i < plan.candidates.size(); ++i) {
    const PlanCandidate& c = plan.candidates[i];
    if (!c.fits) continue;
    if (!best || Better(*c.estimate, *best, objective)) {
      second = best;
      best = &*c.estimate;
      plan.chosen = i;
    } else if (!second || Better(*c.estimate, *second, objective)) {
      second = &*c.estimate;
    }
  }
  if (!best) {
    return InvalidArgument("no plan over " + std::to_string(ranks) + " ranks fits" +
                           (memory_limit_bytes > 0 ? " in " + FormatBytes(memory_limit_bytes) + " per rank" : std::string()));
  }
  plan.why = Why(plan, *best, second);
  return plan;
}

std::string DescribeAutoPlan(const AutoPlan& plan) {
  std::ostringstream out;
  out << "candidates:\n";
  for (size_t i = 0; i < plan.candidates.size(); ++i) {
    const PlanCandidate& c = plan.candidates[i];
    char line[256];
    if (!c.estimate.ok()) {
      out << "    " << Name(c.spec) << ": not possible: " << c.estimate.status().message() << "\n";
      continue;
    }
    const PlanEstimate& e = *c.estimate;
    std::snprintf(line, sizeof line, "%s %s: latency %s, throughput %.1f/s, communication %s, memory %s%s\n",
                  i == plan.chosen ? "  *" : "   ", Name(c.spec).c_str(), FormatSeconds(e.latency_seconds).c_str(),
                  e.throughput_per_second, FormatBytes(e.comm_bytes()).c_str(), FormatBytes(e.max_rank_memory_bytes).c_str(),
                  c.fits ? "" : " (over the memory limit)");
    out << line;
  }
  out << "chosen: " << Name(plan.candidates[plan.chosen].spec) << "\n" << plan.why;
  return out.str();
}

}  // namespace tessera
