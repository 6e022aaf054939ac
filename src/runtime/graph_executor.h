// GraphExecutor: runs one Graph (a model's main graph or a subgraph) node by node.
//
// Create() picks a kernel for every node, folds nodes whose inputs are all constant (and Shape nodes
// whose input shape is static) into constants, and works out when each value can be freed. Run() feeds
// the inputs, runs the remaining nodes in topological order and frees each value right after its last
// consumer, so peak memory stays near the largest live set rather than the sum of all activations.
// While a NodeProfiler is active on the calling thread (runtime/node_profile.h), each node's Run is timed.
#pragma once

#include <memory>
#include <vector>

#include "core/thread_pool.h"
#include "graph/graph.h"
#include "ops/kernel.h"
#include "ops/registry.h"

namespace tessera {

struct ExecutorOptions {
  std::string backend = "cpu";
  bool fold_constants = true;
  size_t max_folded_bytes = size_t{64} << 20;  // larger constant results stay runtime work
  bool is_subgraph = false;                    // Shape folding relies on static shapes of the main graph
};

class GraphExecutor {
 public:
  static StatusOr<std::unique_ptr<GraphExecutor>> Create(const Graph& graph, ThreadPool& pool,
                                                         const KernelRegistry& registry,
                                                         const ExecutorOptions& options = {});

  // `inputs` in the order of graph.inputs, `outer` in the order of graph.outer_values.
  Status Run(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outer, std::vector<Tensor>& outputs);

  const Graph& graph() const { return graph_; }
  size_t folded_node_count() const;

 private:
  GraphExecutor(const Graph& graph, ThreadPool& pool, bool is_subgraph)
      : graph_(graph), pool_(pool), is_subgraph_(is_subgraph) {}
  // Creates every node's kernel in topological order, folding each node whose inputs are all constant
  // right after its kernel exists, so later kernels see folded values as constants (weight pre-packing).
  Status CreateKernelsAndFold(const KernelRegistry& registry, const ExecutorOptions& options);
  Status CreateKernel(size_t index, const KernelRegistry& registry, const ExecutorOptions& options);
  Status TryFold(size_t index, std::vector<Tensor>& slots, const ExecutorOptions& options);
  void PlanReleases();
  Status RunNode(size_t index, std::vector<Tensor>& slots);

  Graph graph_;  // own copy: folding adds constants
  ThreadPool& pool_;
  bool is_subgraph_;  // subgraph nodes are not profiled: their owning node's time includes them
  std::vector<std::unique_ptr<Kernel>> kernels_;
  std::vector<bool> folded_;
  std::vector<std::vector<int>> release_after_;  // per node: values whose last consumer it is
};

}  // namespace tessera
