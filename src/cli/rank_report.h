// What each rank of `tessera run` reports about itself, gathered on rank 0: for --json and --mem-per-rank.
#pragma once

#include <string>
#include <vector>

#include "parallel/comm/communicator.h"
#include "parallel/plan_runner.h"

namespace tessera::cli {

struct RankReport {
  int rank = 0;
  std::string place;                // "data 0, stage 1, shard 0"
  double load_seconds = 0;          // from the model file to a session ready to run
  size_t weight_bytes = 0;          // the weights its part keeps
  size_t load_peak_resident_bytes = 0;  // VmHWM when it was ready to run
  size_t peak_resident_bytes = 0;   // VmHWM after the runs: from load to the last output
};

// Collective: every rank's report, on rank 0 (in rank order); empty elsewhere.
StatusOr<std::vector<RankReport>> GatherRankReports(Communicator& comm, const PlanRunner& runner);

// The reports as a JSON array of objects.
std::string RankReportsJson(const std::vector<RankReport>& reports);

// --mem-per-rank, before the plan is built: the model's graph is read without its weights and the plan's
// largest rank must fit `cap_bytes` (parallel/planner/memory_fit.h), else the error says how many ranks
// would. Every rank decides alike.
Status CheckMemoryPerRank(const std::string& model_path, const PlanSpec& spec, double cap_bytes);

// `text` as a JSON string literal.
std::string JsonString(const std::string& text);

}  // namespace tessera::cli
