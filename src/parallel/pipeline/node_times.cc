// Profiled run of the whole model, mapped back to the loaded graph's nodes by name.
#include "parallel/pipeline/node_times.h"

#include <algorithm>

#include "runtime/node_profile.h"
#include "runtime/session_factory.h"

namespace tessera {

StatusOr<ProfiledModel> LoadForProfiling(const std::string& model_path, const SessionOptions& options) {
  ProfiledModel model;
  auto record_names = [&model](Graph& graph) -> Status {
    for (const Node& node : graph.nodes) model.node_names.push_back(node.name);
    return Status::Ok();
  };
  TS_ASSIGN_OR_RETURN(model.session, LoadSessionWithRewrite(model_path, options, record_names));
  return model;
}

StatusOr<std::vector<double>> MeasureNodeSeconds(ProfiledModel& model,
                                                 const std::vector<std::pair<std::string, Tensor>>& feeds) {
  TS_RETURN_IF_ERROR(model.session->Run(feeds).status());  // warm-up: primitives are created on first use
  // Each node's fastest of a few runs: on a shared machine one run's node can lose the core for a while.
  constexpr int kRuns = 3;
  std::unordered_map<std::string, double> by_name;
  for (int r = 0; r < kRuns; ++r) {
    NodeProfiler profiler;
    {
      NodeProfiler::Scope scope(profiler);
      TS_RETURN_IF_ERROR(model.session->Run(feeds).status());
    }
    for (const auto& [name, ms] : profiler.ByNodeName()) {
      auto [it, fresh] = by_name.emplace(name, ms);
      if (!fresh) it->second = std::min(it->second, ms);
    }
  }
  std::vector<double> seconds(model.node_names.size(), 0.0);
  for (size_t i = 0; i < seconds.size(); ++i) {
    auto it = by_name.find(model.node_names[i]);
    if (it == by_name.end()) continue;
    seconds[i] = it->second / 1e3;
    by_name.erase(it);  // a name given to two nodes counts once
  }
  return seconds;
}

}  // namespace tessera
