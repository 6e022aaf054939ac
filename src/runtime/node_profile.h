// NodeProfiler: wall time of every node run, summed per op type, for `tessera bench --profile`.
//
//   NodeProfiler profiler;
//   {
//     NodeProfiler::Scope scope(profiler);  // runs on this thread are timed while the scope lives
//     session->Run(feeds);
//   }
//   for (const OpTypeTime& t : profiler.ByOpType()) ...
//
// GraphExecutor looks up the calling thread's active profiler once per Run(); with none active it times
// nothing, so a run without profiling pays one thread-local read. Only top-level graphs are timed: a
// Loop, If or Scan node's time already includes its body, which would otherwise count twice.
// Thread safety: a profiler collects from the thread that opened its Scope only; scopes nest (the inner
// one wins until it closes).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/graph.h"

namespace tessera {

// One op type's share of the profiled runs.
struct OpTypeTime {
  std::string op_type;  // "Conv", or "domain.Op" outside the default domain ("com.tessera.FusedConv")
  size_t nodes = 0;     // distinct nodes of this type that ran
  double total_ms = 0;  // summed over every profiled run
};

// One node's share of the profiled runs. `min_ms` is its fastest single run: on a shared machine the sum
// takes in every preemption that fell inside the node, the minimum mostly none.
struct NodeTimeSummary {
  std::string name;
  std::string op_type;
  size_t runs = 0;
  double total_ms = 0;
  double min_ms = 0;
};

class NodeProfiler {
 public:
  class Scope {
   public:
    explicit Scope(NodeProfiler& profiler);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    NodeProfiler* saved_;
  };

  // The profiler of the calling thread's innermost open Scope, or null.
  static NodeProfiler* Active();

  // Adds one run of `node` that took `nanoseconds`. `node` identifies the node across runs.
  void Record(const Node& node, int64_t nanoseconds);
  // Op types by total time, largest first.
  std::vector<OpTypeTime> ByOpType() const;
  // Total milliseconds per node name (a fused node carries the name of the node it replaced).
  std::unordered_map<std::string, double> ByNodeName() const;
  // Every node that ran, largest total first.
  std::vector<NodeTimeSummary> ByNode() const;
  void Clear() { per_node_.clear(); }

 private:
  struct NodeTime {
    std::string name;
    std::string op_type;
    int64_t nanoseconds = 0;
    int64_t min_nanoseconds = 0;
    size_t runs = 0;
  };
  std::unordered_map<const Node*, NodeTime> per_node_;
};

}  // namespace tessera
