// NodeProfiler: the thread's active profiler and the per-op-type summary.
#include "runtime/node_profile.h"

#include <algorithm>
#include <map>

namespace tessera {

namespace {
thread_local NodeProfiler* active_profiler = nullptr;
}  // namespace

NodeProfiler::Scope::Scope(NodeProfiler& profiler) : saved_(active_profiler) { active_profiler = &profiler; }
NodeProfiler::Scope::~Scope() { active_profiler = saved_; }

NodeProfiler* NodeProfiler::Active() { return active_profiler; }

void NodeProfiler::Record(const Node& node, int64_t nanoseconds) {
  NodeTime& t = per_node_[&node];
  if (t.op_type.empty()) {
    t.op_type = node.domain.empty() ? node.op_type : node.domain + "." + node.op_type;
    t.name = node.name;
  }
  t.nanoseconds += nanoseconds;
  t.min_nanoseconds = t.runs == 0 ? nanoseconds : std::min(t.min_nanoseconds, nanoseconds);
  t.runs += 1;
}

std::vector<OpTypeTime> NodeProfiler::ByOpType() const {
  std::map<std::string, OpTypeTime> by_type;
  for (const auto& [node, t] : per_node_) {
    OpTypeTime& entry = by_type[t.op_type];
    entry.op_type = t.op_type;
    entry.nodes += 1;
    entry.total_ms += static_cast<double>(t.nanoseconds) / 1e6;
  }
  std::vector<OpTypeTime> result;
  for (auto& [name, entry] : by_type) result.push_back(std::move(entry));
  std::stable_sort(result.begin(), result.end(),
                   [](const OpTypeTime& a, const OpTypeTime& b) { return a.total_ms > b.total_ms; });
  return result;
}

std::unordered_map<std::string, double> NodeProfiler::ByNodeName() const {
  std::unordered_map<std::string, double> by_name;
  for (const auto& [node, t] : per_node_) by_name[t.name] += static_cast<double>(t.nanoseconds) / 1e6;
  return by_name;
}

std::vector<NodeTimeSummary> NodeProfiler::ByNode() const {
  std::vector<NodeTimeSummary> result;
  result.reserve(per_node_.size());
  for (const auto& [node, t] : per_node_) {
    result.push_back({t.name, t.op_type, t.runs, static_cast<double>(t.nanoseconds) / 1e6,
                      static_cast<double>(t.min_nanoseconds) / 1e6});
  }
  std::sort(result.begin(), result.end(), [](const NodeTimeSummary& a, const NodeTimeSummary& b) {
    return a.total_ms != b.total_ms ? a.total_ms > b.total_ms : a.name < b.name;
  });
  return result;
}

}  // namespace tessera
