// Measured time per node for the pipeline partitioner (`tessera run --pp P --profile`).
//
// The cost model guesses; a run measures. The whole model is loaded on one process, run once to warm up
// (oneDNN creates primitives on first use) and three times under a NodeProfiler (each node keeps its
// fastest run), and each node's time is mapped back to the node of the graph as loaded, which is what
// the partitioner cuts. Fusion passes replace several nodes by one that keeps the first one's name
// (Conv + BatchNormalization + Relu: the Conv), so the fused node's time lands on that node and the
// absorbed ones count zero; nodes folded into constants count zero too. Both are right for balancing:
// the time is spent where it is recorded.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tessera/session.h"

namespace tessera {

struct ProfiledModel {
  std::unique_ptr<Session> session;     // the whole model
  std::vector<std::string> node_names;  // the loaded graph's nodes, in order (before any pass)
};

StatusOr<ProfiledModel> LoadForProfiling(const std::string& model_path, const SessionOptions& options);

// Seconds per node of `model.node_names` for one run on `feeds` (named as Session::Run takes them).
StatusOr<std::vector<double>> MeasureNodeSeconds(ProfiledModel& model,
                                                 const std::vector<std::pair<std::string, Tensor>>& feeds);

}  // namespace tessera
