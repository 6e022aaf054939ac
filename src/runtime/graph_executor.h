// GraphExecutor: runs one Graph (a model's main graph or a subgraph) node by node.
//
// Create() picks a kernel for every node, folds nodes whose inputs are all constant (and Shape nodes
// whose input shape is static) into constants, and works out when each value can be freed. Run() feeds
// the inputs, runs the remaining nodes in topological order and frees each value right after its last
// consumer, so peak memory stays near the largest live set rather than the sum of all activations.
// While a NodeProfiler is active on the calling thread (runtime/node_profile.h), each node's Run is timed.
//
// Constant weights are held once: when every node that reads a constant reports that its kernel packed a
// copy of its own (Kernel::HasOwnCopyOfConstant), at creation or right after the node's run that packed
// it, the executor drops the constant, and the original memory goes with the last reference. Whoever built
// the Graph passed to Create must drop its own references to the constants for that memory to be freed.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
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
  // Set by an owner that holds no other use of the graph's constants (the session drops its references
  // after Create): a constant with a single reader may then be consumed by that reader's kernel as it
  // packs it (KernelInit::constant_input_consumable). Never passed on to subgraphs, whose constants the
  // owning node's graph still holds.
  bool constants_consumable = false;
};

class GraphExecutor {
 public:
  static StatusOr<std::unique_ptr<GraphExecutor>> Create(const Graph& graph, ThreadPool& pool,
                                                         const KernelRegistry& registry,
                                                         const ExecutorOptions& options = {});

  // `inputs` in the order of graph.inputs, `outer` in the order of graph.outer_values.
  Status Run(const std::vector<Value>& inputs, const std::vector<Value>& outer, std::vector<Value>& outputs);
  // Graph inputs (by position) whose buffers runs may overwrite (Session::DonateInputs): a node that is
  // the only reader of one sees it as writable (KernelContext::input_writable). Replaces earlier calls.
  void SetDonatedInputs(const std::vector<size_t>& input_positions);

  const Graph& graph() const { return graph_; }
  size_t folded_node_count() const;

 private:
  GraphExecutor(const Graph& graph, ThreadPool& pool, bool is_subgraph)
      : graph_(graph), pool_(pool), is_subgraph_(is_subgraph) {}
  // Creates every node's kernel in topological order, folding each node whose inputs are all constant
  // right after its kernel exists, so later kernels see folded values as constants (weight pre-packing).
  Status CreateKernelsAndFold(const KernelRegistry& registry, const ExecutorOptions& options);
  Status CreateKernel(size_t index, const KernelRegistry& registry, const ExecutorOptions& options);
  // Whether constant `id` may be consumed by its reader's kernel: consumable constants, a single reader
  // in the whole graph (outputs count), memory that no other constant shares.
  bool IsConsumableConstant(int id, const ExecutorOptions& options) const;
  Status TryFold(size_t index, std::vector<Value>& slots, const ExecutorOptions& options);
  void PlanReleases();
  // Lists, per node, the constants that kernels might take over (read by no graph output, no subgraph
  // and no folded-away node only).
  void PlanConstantHandover();
  // Drops each constant read by node `index` whose readers all hold their own copy (clearing its slot).
  void DropConstantsTakenOver(size_t index, std::vector<Value>* slots);
  // A tensor kernel given a sequence, map ... (a model error): which input, else Ok.
  Status CheckTensorInputs(size_t index, const std::vector<Value>& slots) const;
  Status RunNode(size_t index, std::vector<Value>& slots);

  Graph graph_;  // own copy: folding adds constants
  std::vector<int> reads_;  // per value: inputs of nodes (all of them) and graph outputs that name it
  ThreadPool& pool_;
  bool is_subgraph_;  // subgraph nodes are not profiled: their owning node's time includes them
  std::vector<std::unique_ptr<Kernel>> kernels_;
  std::vector<bool> folded_;
  std::vector<bool> takes_values_;  // per node: its kernel reads values other than tensors
  std::vector<std::vector<bool>> writable_inputs_;  // per node, per input: a donated input it alone reads
  std::vector<std::vector<int>> release_after_;  // per node: values whose last consumer it is

  // Per node: constant value ids it reads that kernels may take over. Per value id: (node, input) pairs
  // reading it. Both fixed after Create.
  std::vector<std::vector<int>> handover_by_node_;
  std::vector<std::vector<std::pair<size_t, size_t>>> readers_;
  std::unique_ptr<std::atomic<bool>[]> constant_dropped_;  // per value id
  std::atomic<size_t> handovers_pending_{0};
  std::mutex constants_mutex_;  // guards graph_.constants once Create is done
};

}  // namespace tessera
