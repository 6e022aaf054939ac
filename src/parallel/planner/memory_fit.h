// Whether a plan's ranks fit a per-rank memory cap, decided before any weight is read.
//
// The figure is the planner's own (plan_estimate.h): the weights a rank holds (its stage's, its shard's
// share of the split ones, all of the replicated ones) plus its largest activations; it needs only the
// graph with its weights' sizes, which the loader gives without reading them (model/inline_weights.h). A
// plan that does not fit is refused with the smallest rank count that would: tessera run checks this
// up front for --mem-per-rank, so a job that cannot fit stops before it loads anything.
#pragma once

#include <string>

#include "graph/graph.h"
#include "parallel/plan_spec.h"
#include "tessera/status.h"

namespace tessera {

// ResourceExhausted when the most any rank of `spec` needs exceeds `cap_bytes`, saying how much, and on
// how many ranks (tp alone or pp alone, up to `max_ranks`) the model would fit, with each one's figure.
Status CheckPlanFitsMemory(const Graph& graph, const std::string& model_name, const PlanSpec& spec, double cap_bytes,
                           int max_ranks = 64);

}  // namespace tessera
