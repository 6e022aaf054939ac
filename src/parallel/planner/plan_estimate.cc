// Estimating a plan: pipeline stages and tensor shards from their planners, then the cost model.
#include "parallel/planner/plan_estimate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "core/tensor_slicing.h"
#include "core/units.h"
#include "graph/cost_model.h"
#include "parallel/pipeline/pipeline_partition.h"
#include "parallel/tensor/shard_plan.h"

namespace tessera {

namespace {


double Message(const PlanCostModel& m, double bytes) { return m.link_latency_seconds + bytes / m.link_bytes_per_second; }

// Ring collectives over `t` ranks: time, and bytes sent summed over the ranks.
double AllReduceSeconds(const PlanCostModel& m, double bytes, int t) {
  return 2.0 * (t - 1) * m.link_latency_seconds + 2.0 * (t - 1) / t * bytes / m.link_bytes_per_second;
}
double AllGatherSeconds(const PlanCostModel& m, double bytes, int t) {
  return (t - 1) * m.link_latency_seconds + static_cast<double>(t - 1) / t * bytes / m.link_bytes_per_second;
}

// The tensor-parallel split seen per node: which region a node runs in, and each region's share per rank.
struct ShardView {
  std::vector<int> region_of_node;                // -1: replicated
  std::vector<std::vector<double>> share;         // region -> rank -> fraction of its units
  std::map<int, std::pair<int, int64_t>> sliced;  // constant value -> (region, sliced axis size)
};

StatusOr<ShardView> ViewShards(const Graph& graph, int tp, ShardPlan* plan_out) {
  ShardView view;
  view.region_of_node.assign(graph.nodes.size(), -1);
  if (tp == 1) return view;
  TS_ASSIGN_OR_RETURN(ShardPlan plan, PlanTensorShards(graph, tp));
  for (size_t r = 0; r < plan.regions.size(); ++r) {
    const ShardRegion& region = plan.regions[r];
    for (int n : region.nodes) view.region_of_node[static_cast<size_t>(n)] = static_cast<int>(r);
    std::vector<double> share;
    for (int64_t u : EvenSplit(region.units, tp)) share.push_back(region.units > 0 ? static_cast<double>(u) / region.units : 0);
    view.share.push_back(share);
    for (const ConstantSlice& s : region.slices) {
      view.sliced[graph.nodes[static_cast<size_t>(s.node)].inputs[static_cast<size_t>(s.input)]] = {static_cast<int>(r), s.dim};
    }
  }
  *plan_out = std::move(plan);
  return view;
}

double Share(const ShardView& view, size_t node, int rank) {
  int region = view.region_of_node[node];
  return region < 0 ? 1.0 : view.share[static_cast<size_t>(region)][static_cast<size_t>(rank)];
}

// One shard of one stage: FLOPs, weights and activations of its nodes, at this rank's share.
ShardEstimate EstimateShard(const Graph& graph, const PipelineStage& stage, const ShardView& view, int shard,
                            const PlanCostModel& model, const CostOptions& cost) {
  ShardEstimate e;
  std::set<int> weights;
  double largest_node = 0;
  for (size_t n : stage.nodes) {
    const Node& node = graph.nodes[n];
    const double share = Share(view, n, shard);
    const double flops = EstimateNodeCost(graph, node, cost).flops;
    e.flops += flops * share;
    e.unsplit_flops += flops;
    double working = 0;
    for (int in : node.inputs) {
      if (in == kNoValue) continue;
      if (graph.IsConstant(in)) {
        weights.insert(in);
      } else {
        working += EstimateValueBytes(graph, in, cost) * share;
      }
    }
    for (int out : node.outputs) {
      if (out != kNoValue) working += EstimateValueBytes(graph, out, cost) * share;
    }
    largest_node = std::max(largest_node, working);
  }
  for (int w : weights) {
    double bytes = static_cast<double>(graph.constants.at(w).byte_size());
    auto it = view.sliced.find(w);
    if (it != view.sliced.end()) bytes *= view.share[static_cast<size_t>(it->second.first)][static_cast<size_t>(shard)];
    e.weight_bytes += bytes;
  }
  double edges = 0;
  for (int v : stage.receives) edges += EstimateValueBytes(graph, v, cost);
  e.activation_bytes = largest_node + edges + stage.send_bytes;
  e.memory_bytes = e.weight_bytes + e.activation_bytes;
  e.compute_seconds = e.flops / model.flops_per_second;
  return e;
}

// Collectives of the regions that start in `stage`: their full bytes, time and ring volume.
void AddCollectives(const Graph& graph, const ShardPlan& plan, const std::vector<int>& node_stage, int stage, int tp,
                    const PlanCostModel& model, const CostOptions& cost, StageEstimate& out, double& volume) {
  for (const ShardRegion& region : plan.regions) {
    if (region.nodes.empty() || node_stage[static_cast<size_t>(*std::min_element(region.nodes.begin(), region.nodes.end()))] != stage) continue;
    ++out.sharded_blocks;
    for (const ShardExit& exit : region.exits) {
      const Node& last = graph.nodes[static_cast<size_t>(exit.bias_add >= 0 ? exit.bias_add : exit.node)];
      double bytes = EstimateValueBytes(graph, last.outputs[0], cost);
      out.collective_bytes += bytes;
      out.collective_seconds += AllReduceSeconds(model, bytes, tp);
      volume += 2.0 * (tp - 1) * bytes;
    }
    for (int v : region.gathered) {
      double bytes = EstimateValueBytes(graph, v, cost);
      out.collective_bytes += bytes;
      out.collective_seconds += AllGatherSeconds(model, bytes, tp);
      volume += (tp - 1.0) * bytes;
    }
  }
}

double SumBytes(const Graph& graph, const std::vector<int>& values, const CostOptions& cost) {
  double bytes = 0;
  for (int v : values) bytes += EstimateValueBytes(graph, v, cost);
  return bytes;
}

void CountUnknownShapes(const Graph& graph, PlanEstimate& est) {
  std::vector<bool> dynamic(graph.values.size(), false);
  for (int v : graph.inputs) dynamic[static_cast<size_t>(v)] = true;
  for (const Node& node : graph.nodes) {
    bool reads_input = false;
    for (int in : node.inputs) reads_input |= in != kNoValue && dynamic[static_cast<size_t>(in)];
    if (!reads_input) continue;
    ++est.input_dependent_nodes;
    bool unknown = false;
    for (int out : node.outputs) {
      if (out == kNoValue) continue;
      dynamic[static_cast<size_t>(out)] = true;
      unknown |= !graph.value(out).has_shape;
    }
    if (unknown) ++est.nodes_without_shapes;
  }
}

}  // namespace

StatusOr<PlanEstimate> EstimatePlan(const Graph& graph, const PlanSpec& spec, const PlanCostModel& model) {
  if (spec.dp < 1 || spec.pp < 1 || spec.tp < 1 || spec.micro_batches < 1) {
    return InvalidArgument("a plan needs dp, pp, tp and micro-batches of at least 1");
  }
  PlanEstimate est;
  est.spec = spec;
  // Symbolic dims count as 1 (the cost per sample), and values without a static shape get the cost
  // model's guess from their inputs, as the partitioner counts them.
  CostOptions cost{1.0};
  const std::vector<double> elements = EstimateValueElements(graph, cost);
  cost.value_elements = &elements;
  PipelinePartitionOptions popt;
  popt.stages = spec.pp;
  popt.flops_per_second = model.flops_per_second;
  popt.link_bytes_per_second = model.link_bytes_per_second;
  popt.cost = cost;
  auto partition = PartitionPipeline(graph, popt);
  if (!partition.ok()) return partition.status().WithContext("pipeline of " + std::to_string(spec.pp) + " stages");
  ShardPlan plan;
  auto view = ViewShards(graph, spec.tp, &plan);
  if (!view.ok()) return view.status().WithContext("tensor parallelism over " + std::to_string(spec.tp) + " ranks");

  est.node_stage.assign(graph.nodes.size(), 0);
  est.node_sharded.assign(graph.nodes.size(), false);
  for (size_t s = 0; s < partition->stages.size(); ++s) {
    const PipelineStage& st = partition->stages[s];
    for (size_t n = st.first_node; n < st.end_node && n < graph.nodes.size(); ++n) est.node_stage[n] = static_cast<int>(s);
  }
  for (size_t n = 0; n < graph.nodes.size(); ++n) est.node_sharded[n] = view->region_of_node[n] >= 0;
  for (const auto& [id, t] : graph.constants) est.total_weight_bytes += static_cast<double>(t.byte_size());
  CountUnknownShapes(graph, est);
  if (!graph.inputs.empty()) {
    const ValueInfo& first = graph.value(graph.inputs[0]);
    if (first.has_shape && !first.dims.empty() && first.dims[0].value > 0) est.batch = static_cast<double>(first.dims[0].value);
  }

  // Latency: this replica's part of the batch, cut into micro-batches that flow through the stages.
  const double part = std::ceil(est.batch / spec.dp) / est.batch / spec.micro_batches;
  double sum_micro = 0, max_micro = 0, bottleneck = 0;
  for (size_t s = 0; s < partition->stages.size(); ++s) {
    const PipelineStage& st = partition->stages[s];
    StageEstimate stage;
    stage.first_node = st.first_node;
    stage.end_node = st.end_node;
    stage.node_count = st.nodes.size();
    if (st.end_node > st.first_node) {
      stage.first_name = graph.nodes[st.first_node].name;
      stage.last_name = graph.nodes[st.end_node - 1].name;
    }
    stage.flops = st.flops;
    stage.weight_bytes = st.weight_bytes;
    const bool last = s + 1 == partition->stages.size();
    stage.send_bytes = last ? 0 : st.send_bytes;
    if (spec.tp > 1) AddCollectives(graph, plan, est.node_stage, static_cast<int>(s), spec.tp, model, cost, stage, est.tensor_bytes);
    double compute = 0;
    for (int t = 0; t < spec.tp; ++t) {
      ShardEstimate shard = EstimateShard(graph, st, *view, t, model, cost);
      shard.rank = static_cast<int>(s) * spec.tp + t;
      compute = std::max(compute, shard.compute_seconds);
      est.max_rank_memory_bytes = std::max(est.max_rank_memory_bytes, shard.memory_bytes);
      stage.shards.push_back(shard);
    }
    const double send = last ? 0 : Message(model, stage.send_bytes);
    stage.seconds = compute + stage.collective_seconds + send;
    bottleneck = std::max(bottleneck, stage.seconds);
    double micro = (compute + stage.collective_seconds) * part + (last ? 0 : Message(model, stage.send_bytes * part));
    sum_micro += micro;
    max_micro = std::max(max_micro, micro);
    est.pipeline_bytes += stage.send_bytes;
    est.stages.push_back(std::move(stage));
  }
  double data_seconds = 0;
  if (spec.dp > 1) {
    const double io = SumBytes(graph, graph.inputs, cost) + SumBytes(graph, graph.outputs, cost);
    // Only replicas with samples take part: a batch of B < dp leaves dp - B of them idle.
    const double active = std::min<double>(spec.dp, std::max(1.0, est.batch));
    est.data_bytes = io * (active - 1) / active;
    data_seconds = 2 * model.link_latency_seconds + est.data_bytes / model.link_bytes_per_second;
  }
  est.latency_seconds = sum_micro + (spec.micro_batches - 1) * max_micro + data_seconds;
  est.throughput_per_second = bottleneck > 0 ? spec.dp / bottleneck : 0;
  return est;
}

std::string DescribePlanEstimate(const PlanEstimate& e, const PlanCostModel& model) {
  const PlanSpec& p = e.spec;
  std::ostringstream out;
  out << "plan: dp " << p.dp << " x pp " << p.pp << " x tp " << p.tp << " = " << p.dp * p.pp * p.tp << " ranks, "
      << p.micro_batches << (p.micro_batches == 1 ? " micro-batch" : " micro-batches") << ", model batch " << e.batch << "\n";
  out << "cost model: " << model.flops_per_second / 1e9 << " GFLOP/s per rank, link " << model.link_bytes_per_second * 8 / 1e9
      << " Gbit/s + " << model.link_latency_seconds * 1e6 << " us per message\n";
  if (e.nodes_without_shapes > 0) {
    out << "note: " << e.nodes_without_shapes << " of " << e.input_dependent_nodes
        << " input-dependent nodes have no static shape; their sizes are guessed from their inputs, so the figures are rough\n";
  }
  if (p.dp > 1) out << "data parallel: " << p.dp << " replicas of the stages below (ranks r, r+" << p.pp * p.tp << ", ...)\n";
  for (size_t s = 0; s < e.stages.size(); ++s) {
    const StageEstimate& st = e.stages[s];
    out << "stage " << s << ": nodes " << st.first_node << ".." << (st.end_node ? st.end_node - 1 : 0) << " ('" << st.first_name
        << "' .. '" << st.last_name << "'), " << st.node_count << " nodes, " << FormatFlops(st.flops) << ", weights "
        << FormatBytes(st.weight_bytes);
    if (p.tp > 1) out << ", " << st.sharded_blocks << " sharded blocks";
    out << "\n";
    for (size_t t = 0; t < st.shards.size(); ++t) {
      const ShardEstimate& sh = st.shards[t];
      out << "  rank " << sh.rank << " (shard " << t << "/" << p.tp << "): " << FormatFlops(sh.flops) << ", weights "
          << FormatBytes(sh.weight_bytes) << ", activations " << FormatBytes(sh.activation_bytes) << ", memory "
          << FormatBytes(sh.memory_bytes) << ", compute " << FormatSeconds(sh.compute_seconds) << "\n";
    }
    if (p.tp > 1) {
      out << "  collectives: " << FormatBytes(st.collective_bytes) << " per inference, " << FormatSeconds(st.collective_seconds)
          << "\n";
    }
    if (s + 1 < e.stages.size()) {
      out << "  cut " << s << " -> " << s + 1 << ": " << FormatBytes(st.send_bytes) << " of activations per inference, "
          << FormatSeconds(Message(model, st.send_bytes)) << "\n";
    }
    out << "  stage time: " << FormatSeconds(st.seconds) << "\n";
  }
  out << "estimated latency: " << FormatSeconds(e.latency_seconds) << " per inference\n";
  out << "estimated throughput: " << FormatRate(e.throughput_per_second) << " inferences/s\n";
  out << "communication per inference: " << FormatBytes(e.comm_bytes()) << " (pipeline " << FormatBytes(e.pipeline_bytes)
      << ", tensor " << FormatBytes(e.tensor_bytes) << ", data " << FormatBytes(e.data_bytes) << ")\n";
  out << "memory per rank: at most " << FormatBytes(e.max_rank_memory_bytes) << " (model weights "
      << FormatBytes(e.total_weight_bytes) << ")\n";
  return out.str();
}

}  // namespace tessera
