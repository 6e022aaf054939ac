// What a dp × pp × tp plan does to a model, estimated before any rank starts: for `tessera plan`.
//
// Stages come from the pipeline partitioner (parallel/pipeline/pipeline_partition.h) and shards from the
// tensor-parallel shard planner (parallel/tensor/shard_description.h), so the numbers describe the cuts
// and splits a run would use. The cost model is deliberately simple and stated in PlanCostModel:
//   compute   = FLOPs / flops_per_second (per rank; a sharded node's FLOPs divide by its share of units)
//   transfer  = link_latency + bytes / link_bandwidth, per message
//   all-reduce over T ranks (ring): 2(T-1) steps, moving 2(T-1)/T of the tensor; all-gather: half that
//   memory    = weights held + activations (the stage's largest node's inputs and outputs, plus the
//               values it receives and sends; sharded values count 1/T)
// Symbolic dims (a batch the model leaves open) count as 1, and values without a static shape get the
// cost model's guess from their inputs (EstimateValueElements), as the partitioner does.
//
// Two figures summarise a plan. Latency: one inference (the model's batch as declared) from inputs to
// outputs; dp splits the batch, pipeline stages run one after another (with M micro-batches, the fill
// and drain of the pipeline). Throughput: a stream of independent inferences; each dp replica serves
// its own, and a pipeline delivers one per slowest-stage time.
#pragma once

#include <string>
#include <vector>

#include "core/units.h"  // FormatBytes, FormatFlops, ...: the units the report prints
#include "graph/graph.h"
#include "parallel/plan_spec.h"

namespace tessera {

struct PlanCostModel {
  double flops_per_second = 50e9;          // one rank; roughly one core's sustained fp32 conv/matmul rate
  double link_bytes_per_second = 10e9 / 8;  // 10 Gbit/s
  double link_latency_seconds = 10e-6;
};

struct ShardEstimate {
  int rank = 0;  // in the grid of data replica 0
  double flops = 0;
  double unsplit_flops = 0;  // the same nodes' FLOPs without tensor parallelism
  double weight_bytes = 0;
  double activation_bytes = 0;
  double memory_bytes = 0;  // weights + activations
  double compute_seconds = 0;
};

struct StageEstimate {
  size_t first_node = 0, end_node = 0;  // graph.nodes[first_node, end_node)
  size_t node_count = 0;                // nodes it runs (constant-only helpers included)
  std::string first_name, last_name;
  double flops = 0;
  double weight_bytes = 0;
  double send_bytes = 0;         // activations crossing the cut to the next stage, per inference
  int sharded_blocks = 0;        // tensor-parallel blocks that start in this stage
  double collective_bytes = 0;   // full size of the tensors its collectives produce, per inference
  double collective_seconds = 0;
  double seconds = 0;            // slowest shard's compute + collectives + sending to the next stage
  std::vector<ShardEstimate> shards;
};

struct PlanEstimate {
  PlanSpec spec;
  std::vector<StageEstimate> stages;
  std::vector<int> node_stage;     // per graph node
  std::vector<bool> node_sharded;  // per graph node: runs on tp shards
  double batch = 1;                // the first input's first dim (1 when symbolic)
  double latency_seconds = 0;
  double throughput_per_second = 0;
  // Bytes sent between ranks per inference: pipeline cuts, tensor-parallel collectives (ring volume,
  // summed over ranks) and the data-parallel scatter of inputs and gather of outputs.
  double pipeline_bytes = 0, tensor_bytes = 0, data_bytes = 0;
  double max_rank_memory_bytes = 0;
  double total_weight_bytes = 0;
  // Nodes that depend on the inputs but whose outputs have no static shape (ONNX shape inference stops
  // at a Reshape of a computed shape, as in exported transformers): their sizes are guesses.
  size_t nodes_without_shapes = 0;
  size_t input_dependent_nodes = 0;

  double comm_bytes() const { return pipeline_bytes + tensor_bytes + data_bytes; }
};

// Fails when the plan cannot split this model (more stages than nodes, more shards than a split block has
// heads or channels), with the planner's message.
StatusOr<PlanEstimate> EstimatePlan(const Graph& graph, const PlanSpec& spec, const PlanCostModel& model);

// The report `tessera plan` prints: the plan, each stage and shard, and the totals.
std::string DescribePlanEstimate(const PlanEstimate& estimate, const PlanCostModel& model);

}  // namespace tessera
