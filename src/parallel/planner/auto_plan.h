// Choosing dp/pp/tp for a model, a rank count and a link: every factorisation dp·pp·tp = ranks is
// estimated with the same cost model (plan_estimate.h) and the best for the objective wins.
//
//   latency:    the shortest single inference. tp divides the compute of the blocks it splits at the
//               price of collectives; dp only helps when the batch has several samples to split; pp
//               runs its stages one after another, so it adds transfers and mostly buys memory.
//   throughput: the most inferences per second from a stream. dp replicas serve separate inferences
//               with no communication at all, so dp wins unless a replica does not fit in memory.
// Ties (within 1%) go to the better plan for the other objective, then to the one moving fewer bytes.
// Plans the planners refuse (more shards than heads, more stages than nodes) or that exceed the memory
// limit are listed with the reason.
#pragma once

#include <string>
#include <vector>

#include "parallel/planner/plan_estimate.h"

namespace tessera {

enum class PlanObjective { kLatency, kThroughput };

struct PlanCandidate {
  PlanSpec spec;
  StatusOr<PlanEstimate> estimate = Internal("not estimated");
  bool fits = false;  // estimated, and within the memory limit
};

struct AutoPlan {
  PlanObjective objective = PlanObjective::kLatency;
  std::vector<PlanCandidate> candidates;  // every factorisation, dp descending
  size_t chosen = 0;
  std::string why;  // a few sentences with the numbers behind the choice
};

// `memory_limit_bytes` 0: no limit. Fails when no candidate fits.
StatusOr<AutoPlan> ChoosePlan(const Graph& graph, int ranks, int micro_batches, PlanObjective objective,
                              const PlanCostModel& model, double memory_limit_bytes);

// The table of candidates, the choice and why.
std::string DescribeAutoPlan(const AutoPlan& plan);

}  // namespace tessera
