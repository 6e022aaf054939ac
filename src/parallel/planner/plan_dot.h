// A Graphviz drawing of a plan: one box per graph node, filled with its pipeline stage's colour and
// grouped in a cluster per stage; nodes that run on tensor-parallel shards get a double, bold border
// and "split over T" in their label. Edges follow the values between nodes (constants are left out).
#pragma once

#include <string>

#include "graph/graph.h"
#include "parallel/planner/plan_estimate.h"

namespace tessera {

std::string PlanToDot(const Graph& graph, const PlanEstimate& estimate);

}  // namespace tessera
