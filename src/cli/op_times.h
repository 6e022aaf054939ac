// `tessera run --op-times`: where a run's time goes, per op type on rank 0 and per rank.
//
// Rank 0's time per op type over the profiled runs, per batch and as a share of those runs' time, then
// every rank's time in nodes per batch. Under a tensor-parallel plan the collectives (com.tessera
// AllReduceSum, AllGather) count their waiting too: that is the time the step spends on communication.
// In a pipeline the ranks' times are the stages' busy times; the rest of a batch's time is spent waiting
// for the neighbouring stages.
#pragma once

#include <string>
#include <vector>

#include "parallel/comm/communicator.h"
#include "runtime/node_profile.h"
#include "tessera/status.h"

namespace tessera::cli {

// Prints the report on stdout: `total_ms` is the profiled runs' wall time, `batches` how many batches they
// ran, `what` names them ("runs 2-8"), `busy_ms_by_rank` is GatherBusyTimes' result (empty: one rank).
void PrintOpTimes(const NodeProfiler& profiler, double total_ms, size_t batches, const std::string& what,
                  const std::vector<double>& busy_ms_by_rank);

// Every rank's summed node time in `profiler`, on every rank (collective over `comm`).
StatusOr<std::vector<double>> GatherBusyTimes(Communicator& comm, const NodeProfiler& profiler);

}  // namespace tessera::cli
