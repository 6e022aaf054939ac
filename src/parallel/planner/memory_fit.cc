// CheckPlanFitsMemory: one estimate for the plan asked for; on a miss, pp and tp alone over growing counts.
#include "parallel/planner/memory_fit.h"

#include "parallel/planner/plan_estimate.h"

namespace tessera {

namespace {

std::string PlanName(const PlanSpec& s) {
  return "dp " + std::to_string(s.dp) + " x pp " + std::to_string(s.pp) + " x tp " + std::to_string(s.tp);
}

}  // namespace

Status CheckPlanFitsMemory(const Graph& graph, const std::string& model_name, const PlanSpec& spec, double cap_bytes,
                           int max_ranks) {
  const PlanCostModel cost;  // memory does not depend on the speeds
  TS_ASSIGN_OR_RETURN(PlanEstimate asked, EstimatePlan(graph, spec, cost));
  if (asked.max_rank_memory_bytes <= cap_bytes) return Status::Ok();
  std::string message = "model '" + model_name + "' needs about " + FormatBytes(asked.max_rank_memory_bytes) +
                        " on its largest rank under " + PlanName(spec) + " (weights " +
                        FormatBytes(asked.total_weight_bytes) + " in all), more than --mem-per-rank " +
                        FormatBytes(cap_bytes);
  for (int n = 2; n <= max_ranks; ++n) {
    std::string fitting;
    for (const bool tensor : {true, false}) {
      PlanSpec candidate{1, tensor ? 1 : n, tensor ? n : 1, spec.micro_batches};
      auto estimate = EstimatePlan(graph, candidate, cost);
      if (!estimate.ok() || estimate->max_rank_memory_bytes > cap_bytes) continue;
      fitting += std::string(fitting.empty() ? "" : ", ") + (tensor ? "--tp " : "--pp ") + std::to_string(n) + ": " +
                 FormatBytes(estimate->max_rank_memory_bytes) + " per rank";
    }
    if (!fitting.empty()) {
      return ResourceExhausted(message + "; it would fit on " + std::to_string(n) + " ranks (" + fitting + ")");
    }
  }
  return ResourceExhausted(message + "; no plan of pp or tp alone up to " + std::to_string(max_ranks) +
                           " ranks fits");
}

}  // namespace tessera
