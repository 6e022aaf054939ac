// --op-times report.
#include "cli/op_times.h"

#include <cstdio>
#include <iostream>

namespace tessera::cli {

void PrintOpTimes(const NodeProfiler& profiler, double total_ms, size_t batches, const std::string& what,
                  const std::vector<double>& busy_ms_by_rank) {
  if (batches == 0 || total_ms <= 0) return;
  const double per = static_cast<double>(batches);
  char line[240];
  std::snprintf(line, sizeof line, "op times on rank 0 over %s (%.3f ms per batch):\n", what.c_str(), total_ms / per);
  std::cout << line;
  const std::vector<OpTypeTime> by_op = profiler.ByOpType();
  for (size_t i = 0; i < by_op.size() && i < 12; ++i) {
    std::snprintf(line, sizeof line, "  %-34s %4zu nodes %10.3f ms per batch %6.1f%%\n", by_op[i].op_type.c_str(),
                  by_op[i].nodes, by_op[i].total_ms / per, 100.0 * by_op[i].total_ms / total_ms);
    std::cout << line;
  }
  if (busy_ms_by_rank.size() < 2) return;
  std::cout << "time in nodes per batch, by rank:";
  for (size_t r = 0; r < busy_ms_by_rank.size(); ++r) {
    std::snprintf(line, sizeof line, " %zu: %.3f ms (%.0f%%)%s", r, busy_ms_by_rank[r] / per,
                  100.0 * busy_ms_by_rank[r] / total_ms, r + 1 < busy_ms_by_rank.size() ? "," : "\n");
    std::cout << line;
  }
}

StatusOr<std::vector<double>> GatherBusyTimes(Communicator& comm, const NodeProfiler& profiler) {
  double mine = 0;
  for (const OpTypeTime& t : profiler.ByOpType()) mine += t.total_ms;
  TS_ASSIGN_OR_RETURN(Tensor all, comm.AllGather(Tensor::FromVector<double>(DType::kFloat64, {1}, {mine}), 0));
  return std::vector<double>(all.data<double>(), all.data<double>() + all.element_count());
}

}  // namespace tessera::cli
