// PipelinePartitioner: cuts a graph into P contiguous stages for pipeline parallelism.
//
// The nodes are taken in the graph's topological order; each stage is a contiguous run of it, so stage
// s only ever needs values from stages before it. Cuts are chosen to minimise the slowest stage, where
// a stage's time is its nodes' compute (cost model FLOPs and bytes written, or a measured time per
// node) plus the transfer of the activations that cross its two cuts; among equally slow plans the one
// moving fewer bytes wins. So cuts land where few activation bytes cross (between residual blocks, not
// inside them).
//
// Values that skip stages are forwarded: a value made in stage 1 and read in stage 3 crosses cut 1->2
// and cut 2->3 (stage 2 receives and passes it on without using it). The model's inputs enter at stage 0
// and travel the same way. Nodes whose inputs are all constant (weight transposes, shape arithmetic on
// constants) are not placed by the cut: every stage that needs their results gets a copy of them, so
// no stage ever waits for a constant.
//
// The partition is a pure function of the graph and the options: every rank computes the same one from
// the same model.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "graph/cost_model.h"
#include "graph/graph.h"

namespace tessera {

struct PipelinePartitionOptions {
  int stages = 1;
  // Measured seconds per node, indexed like graph.nodes (empty: use the cost model). Nodes that were
  // folded away before running count as zero.
  std::vector<double> node_seconds;
  // Converting the cost model to time. Only the ratios matter: compute vs memory vs transfer.
  double flops_per_second = 2e10;
  double memory_bytes_per_second = 1e10;  // bytes a node writes
  double link_bytes_per_second = 2e9;     // bytes crossing a cut, counted on both sides
  CostOptions cost{1.0};                  // symbolic dims (the batch) count as 1: the cost per sample
  // Graph inputs whose stream the cuts must not split (a decoder's input ids), or empty: any gap. When
  // set, a cut goes only where one floating-point value computed from them crosses (the residual stream
  // between blocks), never inside a block where its branches are live too: a stage that is then split by
  // heads (--pp with --tp) starts and ends on a value every rank holds whole.
  std::vector<int> block_stream_inputs;
};

struct PipelineStage {
  // The stage's cut of the topological order: graph.nodes[first_node, end_node).
  size_t first_node = 0, end_node = 0;
  // Nodes it runs, ascending: those of its range that depend on the inputs, plus the constant-only
  // nodes they need (which other stages may run too).
  std::vector<size_t> nodes;
  double flops = 0;         // cost-model FLOPs of its nodes (symbolic dims as in the options)
  double seconds = 0;       // estimated compute time (cost model, or the measured node times)
  double weight_bytes = 0;  // constants its nodes read
  // Values arriving from the previous stage (stage 0: the graph's inputs), in the order they travel.
  std::vector<int> receives;
  // Values passed to the next stage, in the order they travel: computed here, or forwarded from
  // `receives`. The next stage's `receives` is the same list.
  std::vector<int> sends;
  double send_bytes = 0;  // estimated bytes of `sends` per run (symbolic dims as in the options)
  // The stage graph's interface: `inputs` are the received values its nodes read; `outputs` are the
  // values it computes that the next stage or the caller needs.
  std::vector<int> inputs;
  std::vector<int> outputs;
  // The graph outputs this stage delivers (a subset of receives ∪ outputs), in graph.outputs order.
  std::vector<int> graph_outputs;
};

struct PipelinePartition {
  std::vector<PipelineStage> stages;
  std::vector<int> graph_output_stage;  // per graph output (graph.outputs order): the stage delivering it
  double bottleneck_seconds = 0;        // the slowest stage, transfers included
  bool measured = false;                // node times came from a profile
};

// Fails (InvalidArgument) when `options.stages` is below 1 or above the number of nodes that depend on
// the graph's inputs (each stage needs one), or when `node_seconds` has the wrong length, or when
// `block_stream_inputs` leaves too few block boundaries to cut at.
StatusOr<PipelinePartition> PartitionPipeline(const Graph& graph, const PipelinePartitionOptions& options);

// A table of the stages (node range, first and last node names, FLOPs, weights, values and bytes sent)
// for `tessera plan` and `tessera run`.
std::string DescribePipelinePartition(const Graph& graph, const PipelinePartition& partition);

}  // namespace tessera
