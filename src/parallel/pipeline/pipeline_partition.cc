// Pipeline partitioning: which values are live across each gap of the order, then a dynamic program
// over the cut positions that minimises the slowest stage.
#include "parallel/pipeline/pipeline_partition.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>

#include "core/units.h"

namespace tessera {

namespace {

// Ops whose result changes from run to run: never duplicated into several stages, even without inputs.
bool IsRandomOp(const std::string& op) {
  return op == "RandomNormal" || op == "RandomUniform" || op == "RandomNormalLike" || op == "RandomUniformLike" ||
         op == "Multinomial" || op == "Bernoulli";
}

// What the partitioner needs to know about the graph, computed once.
struct GraphLiveness {
  std::vector<bool> constant_only;     // per node: every input is a constant or computed from constants
  std::vector<bool> constant_derived;  // per value: a constant or the output of a constant-only node
  std::vector<int> producer;           // per value: the node that computes it, or -1
  std::vector<size_t> dynamic;         // nodes that depend on the inputs, in order: the cut positions
  std::vector<int> position;           // per node: its index in `dynamic`, or -1
  std::vector<int> made_at;            // per value: position of its producer, -1 for a graph input
  std::vector<int> last_read;          // per value: last position that reads it, -1 when none does
  std::vector<bool> is_graph_input;
};

GraphLiveness Analyse(const Graph& graph) {
  GraphLiveness g;
  const size_t values = graph.values.size(), nodes = graph.nodes.size();
  g.constant_only.assign(nodes, false);
  g.constant_derived.assign(values, false);
  g.producer.assign(values, -1);
  g.position.assign(nodes, -1);
  g.made_at.assign(values, -1);
  g.last_read.assign(values, -1);
  g.is_graph_input.assign(values, false);
  for (const auto& [id, tensor] : graph.constants) g.constant_derived[static_cast<size_t>(id)] = true;
  for (int id : graph.inputs) g.is_graph_input[static_cast<size_t>(id)] = true;
  for (size_t i = 0; i < nodes; ++i) {
    const Node& node = graph.nodes[i];
    bool all_constant = !IsRandomOp(node.op_type);
    for (int in : node.inputs) {
      if (in != kNoValue && !g.constant_derived[static_cast<size_t>(in)]) all_constant = false;
    }
    g.constant_only[i] = all_constant;
    if (!all_constant) {
      g.position[i] = static_cast<int>(g.dynamic.size());
      g.dynamic.push_back(i);
    }
    for (int out : node.outputs) {
      if (out == kNoValue) continue;
      g.producer[static_cast<size_t>(out)] = static_cast<int>(i);
      if (all_constant) g.constant_derived[static_cast<size_t>(out)] = true;
      if (!all_constant) g.made_at[static_cast<size_t>(out)] = g.position[i];
    }
    if (!all_constant) {
      for (int in : node.inputs) {
        if (in != kNoValue && !g.constant_derived[static_cast<size_t>(in)])
          g.last_read[static_cast<size_t>(in)] = g.position[i];
      }
    }
  }
  return g;
}

// Bytes crossing each gap k (between positions k-1 and k), k in [0, D]; gaps 0 and D are the pipeline's
// ends and carry nothing.
std::vector<double> CrossingBytes(const Graph& graph, const GraphLiveness& g, const CostOptions& cost) {
  const size_t d = g.dynamic.size();
  std::vector<double> diff(d + 2, 0.0);
  for (size_t v = 0; v < graph.values.size(); ++v) {
    if (g.constant_derived[v] || g.last_read[v] < 0) continue;
    // Crosses gaps made_at+1 .. last_read.
    double bytes = EstimateValueBytes(graph, static_cast<int>(v), cost);
    diff[static_cast<size_t>(g.made_at[v] + 1)] += bytes;
    diff[static_cast<size_t>(g.last_read[v] + 1)] -= bytes;
  }
  std::vector<double> crossing(d + 1, 0.0);
  double running = 0;
  for (size_t k = 0; k <= d; ++k) {
    running += diff[k];
    crossing[k] = (k == 0 || k == d) ? 0.0 : running;
  }
  return crossing;
}

// The values crossing gap k, ordered by where they are made, then by id (the order they travel in).
std::vector<int> CrossingValues(const Graph& graph, const GraphLiveness& g, int k) {
  std::vector<int> out;
  for (size_t v = 0; v < graph.values.size(); ++v) {
    if (g.constant_derived[v] || g.last_read[v] < 0) continue;
    if (g.made_at[v] < k && g.last_read[v] >= k) out.push_back(static_cast<int>(v));
  }
  std::stable_sort(out.begin(), out.end(),
                   [&](int a, int b) { return g.made_at[static_cast<size_t>(a)] < g.made_at[static_cast<size_t>(b)]; });
  return out;
}

struct Plan {
  double slowest = 0;  // seconds of the slowest stage
  double bytes = 0;    // bytes crossing all cuts
  int from = -1;       // where the previous stage ends
};

// a is better than b: faster bottleneck, or (as fast, within rounding) fewer bytes moved.
bool Better(const Plan& a, const Plan& b) {
  if (b.from < 0) return true;
  double tolerance = 1e-9 * std::max(a.slowest, b.slowest);
  if (a.slowest < b.slowest - tolerance) return true;
  if (a.slowest > b.slowest + tolerance) return false;
  return a.bytes < b.bytes;
}

// Per gap k in [0, D]: whether a cut may go there. Without stream inputs every gap; with them, the gaps
// where exactly one floating-point value computed from those inputs crosses (between blocks).
std::vector<bool> AllowedGaps(const Graph& graph, const GraphLiveness& g, const std::vector<int>& stream_inputs) {
  const size_t d = g.dynamic.size();
  std::vector<bool> allowed(d + 1, true);
  if (stream_inputs.empty()) return allowed;
  std::vector<bool> from_stream(graph.values.size(), false);
  for (int id : stream_inputs) from_stream[static_cast<size_t>(id)] = true;
  for (size_t n : g.dynamic) {
    const Node& node = graph.nodes[n];
    bool reads = false;
    for (int in : node.inputs) reads = reads || (in != kNoValue && from_stream[static_cast<size_t>(in)]);
    for (int out : node.outputs) {
      if (out != kNoValue && reads) from_stream[static_cast<size_t>(out)] = true;
    }
  }
  std::vector<int> count_diff(d + 2, 0);
  for (size_t v = 0; v < graph.values.size(); ++v) {
    if (g.constant_derived[v] || g.last_read[v] < 0 || g.is_graph_input[v] || !from_stream[v]) continue;
    const DType dtype = graph.value(static_cast<int>(v)).dtype;
    if (dtype != DType::kFloat32 && dtype != DType::kFloat16 && dtype != DType::kBFloat16) continue;
    ++count_diff[static_cast<size_t>(g.made_at[v] + 1)];
    --count_diff[static_cast<size_t>(g.last_read[v] + 1)];
  }
  int running = 0;
  for (size_t k = 0; k <= d; ++k) {
    running += count_diff[k];
    allowed[k] = (k == 0 || k == d) || running == 1;
  }
  return allowed;
}

// Cut positions 0 = c0 < c1 < ... < cP = D minimising the slowest stage, each at an allowed gap; empty
// when the allowed gaps are too few.
std::vector<int> ChooseCuts(const std::vector<double>& prefix, const std::vector<double>& crossing, int stages,
                            double link_bytes_per_second, const std::vector<bool>& allowed) {
  const int d = static_cast<int>(prefix.size()) - 1;
  auto stage_time = [&](int j, int k) {
    return prefix[static_cast<size_t>(k)] - prefix[static_cast<size_t>(j)] +
           (crossing[static_cast<size_t>(j)] + crossing[static_cast<size_t>(k)]) / link_bytes_per_second;
  };
  // best[s][k]: the best way to run positions [0, k) as s + 1 stages.
  std::vector<std::vector<Plan>> best(static_cast<size_t>(stages), std::vector<Plan>(static_cast<size_t>(d) + 1));
  for (int k = 1; k <= d; ++k) best[0][static_cast<size_t>(k)] = {stage_time(0, k), 0.0, 0};
  for (int s = 1; s < stages; ++s) {
    for (int k = s + 1; k <= d; ++k) {
      Plan& cell = best[static_cast<size_t>(s)][static_cast<size_t>(k)];
      for (int j = s; j < k; ++j) {
        if (!allowed[static_cast<size_t>(j)]) continue;
        const Plan& before = best[static_cast<size_t>(s) - 1][static_cast<size_t>(j)];
        if (before.from < 0) continue;  // [0, j) cannot be cut into s stages at allowed gaps
        Plan candidate{std::max(before.slowest, stage_time(j, k)), before.bytes + crossing[static_cast<size_t>(j)], j};
        if (Better(candidate, cell)) cell = candidate;
      }
    }
  }
  if (best[static_cast<size_t>(stages) - 1][static_cast<size_t>(d)].from < 0) return {};
  std::vector<int> cuts(static_cast<size_t>(stages) + 1, 0);
  cuts[static_cast<size_t>(stages)] = d;
  for (int s = stages - 1; s >= 1; --s) {
    cuts[static_cast<size_t>(s)] =
        best[static_cast<size_t>(s)][static_cast<size_t>(cuts[static_cast<size_t>(s) + 1])].from;
  }
  return cuts;
}

// Adds the constant-only producers of `id`'s inputs chain to `nodes`.
void AddConstantProducers(const Graph& graph, const GraphLiveness& g, int id, std::set<size_t>& nodes) {
  std::vector<int> pending{id};  // a worklist, not recursion: constant chains can be long
  while (!pending.empty()) {
    int v = pending.back();
    pending.pop_back();
    if (v == kNoValue || graph.IsConstant(v)) continue;
    int p = g.producer[static_cast<size_t>(v)];
    if (p < 0 || !g.constant_only[static_cast<size_t>(p)] || !nodes.insert(static_cast<size_t>(p)).second) continue;
    for (int in : graph.nodes[static_cast<size_t>(p)].inputs) pending.push_back(in);
  }
}

// Stage `s` of `stages`, covering positions [lo, hi): its nodes, the values it receives and sends, its
// graph's interface and its weights. `output_stage` is as in PartitionPipeline (-1: by producer).
PipelineStage MakeStage(const Graph& graph, const GraphLiveness& g, int s, int stages, int lo, int hi,
                        const std::vector<int>& output_stage) {
  PipelineStage stage;
  stage.first_node = s == 0 ? 0 : g.dynamic[static_cast<size_t>(lo)];
  stage.end_node = s == stages - 1 ? graph.nodes.size() : g.dynamic[static_cast<size_t>(hi)];
  std::set<size_t> nodes;
  for (int p = lo; p < hi; ++p) {
    const size_t n = g.dynamic[static_cast<size_t>(p)];
    nodes.insert(n);
    for (int in : graph.nodes[n].inputs) AddConstantProducers(graph, g, in, nodes);
  }
  stage.receives = s == 0 ? graph.inputs : CrossingValues(graph, g, lo);
  if (s + 1 < stages) stage.sends = CrossingValues(graph, g, hi);

  for (size_t o = 0; o < graph.outputs.size(); ++o) {
    int id = graph.outputs[o];
    int made = g.made_at[static_cast<size_t>(id)];
    bool mine = output_stage[o] == s || (output_stage[o] < 0 && made >= lo && made < hi);
    if (!mine) continue;
    stage.graph_outputs.push_back(id);
    if (g.constant_derived[static_cast<size_t>(id)]) AddConstantProducers(graph, g, id, nodes);
  }
  stage.nodes.assign(nodes.begin(), nodes.end());

  // The stage graph's interface: received values its nodes read; values it makes that travel on or
  // that the caller wants.
  std::set<int> read, constants_read;
  for (size_t n : stage.nodes) {
    for (int in : graph.nodes[n].inputs) {
      if (in == kNoValue) continue;
      if (graph.IsConstant(in)) constants_read.insert(in);
      if (!g.constant_derived[static_cast<size_t>(in)] && g.made_at[static_cast<size_t>(in)] < lo) read.insert(in);
    }
  }
  for (int v : stage.receives) {
    if (read.count(v)) stage.inputs.push_back(v);
  }
  auto made_here = [&](int v) {
    int p = g.producer[static_cast<size_t>(v)];
    return p >= 0 && nodes.count(static_cast<size_t>(p)) != 0;
  };
  std::set<int> outputs;
  for (int v : stage.sends) {
    if (made_here(v) && outputs.insert(v).second) stage.outputs.push_back(v);
  }
  for (int v : stage.graph_outputs) {
    if ((made_here(v) || graph.IsConstant(v)) && outputs.insert(v).second) stage.outputs.push_back(v);
  }
  for (int c : constants_read) stage.weight_bytes += static_cast<double>(graph.constants.at(c).byte_size());
  return stage;
}


}  // namespace

StatusOr<PipelinePartition> PartitionPipeline(const Graph& graph, const PipelinePartitionOptions& caller_options) {
  const int stages = caller_options.stages;
  PipelinePartitionOptions options = caller_options;
  std::vector<double> guessed_elements;
  if (options.cost.value_elements == nullptr) {
    guessed_elements = EstimateValueElements(graph, options.cost);
    options.cost.value_elements = &guessed_elements;
  }
  if (stages < 1) return InvalidArgument("a pipeline needs at least one stage, got " + std::to_string(stages));
  if (!options.node_seconds.empty() && options.node_seconds.size() != graph.nodes.size()) {
    return InvalidArgument("node times cover " + std::to_string(options.node_seconds.size()) +
                           " nodes, the graph has " + std::to_string(graph.nodes.size()));
  }
  GraphLiveness g = Analyse(graph);
  const int d = static_cast<int>(g.dynamic.size());
  if (stages > d) {
    return InvalidArgument("cannot cut graph '" + graph.name + "' into " + std::to_string(stages) +
                           " pipeline stages: it has " + std::to_string(d) +
                           " node(s) that depend on its inputs, and each stage needs at least one (use --pp " +
                           std::to_string(std::max(d, 1)) + " or fewer)");
  }

  std::vector<double> flops(static_cast<size_t>(d)), prefix(static_cast<size_t>(d) + 1, 0.0);
  for (int i = 0; i < d; ++i) {
    const size_t n = g.dynamic[static_cast<size_t>(i)];
    NodeCost cost = EstimateNodeCost(graph, graph.nodes[n], options.cost);
    flops[static_cast<size_t>(i)] = cost.flops;
    double seconds = options.node_seconds.empty()
                         ? cost.flops / options.flops_per_second + cost.output_bytes / options.memory_bytes_per_second
                         : options.node_seconds[n];
    prefix[static_cast<size_t>(i) + 1] = prefix[static_cast<size_t>(i)] + seconds;
  }
  std::vector<double> crossing = CrossingBytes(graph, g, options.cost);
  const std::vector<bool> allowed = AllowedGaps(graph, g, options.block_stream_inputs);
  std::vector<int> cuts = ChooseCuts(prefix, crossing, stages, options.link_bytes_per_second, allowed);
  if (cuts.empty()) {
    const int boundaries = static_cast<int>(std::count(allowed.begin() + 1, allowed.end() - 1, true));
    return InvalidArgument("cannot cut graph '" + graph.name + "' into " + std::to_string(stages) +
                           " pipeline stages between blocks: it has " + std::to_string(boundaries) +
                           " place(s) where only the residual stream crosses (use --pp " +
                           std::to_string(boundaries + 1) + " or fewer)");
  }

  PipelinePartition partition;
  partition.measured = !options.node_seconds.empty();
  // Outputs that are constants go with the last stage, graph inputs with stage 0, the rest with their
  // producer's stage (-1 here: found per stage below).
  std::vector<int> graph_output_stage;
  for (int id : graph.outputs) {
    size_t v = static_cast<size_t>(id);
    graph_output_stage.push_back(g.constant_derived[v] ? stages - 1 : g.made_at[v] < 0 ? 0 : -1);
  }
  for (int s = 0; s < stages; ++s) {
    const int lo = cuts[static_cast<size_t>(s)], hi = cuts[static_cast<size_t>(s) + 1];
    PipelineStage stage = MakeStage(graph, g, s, stages, lo, hi, graph_output_stage);
    for (int p = lo; p < hi; ++p) stage.flops += flops[static_cast<size_t>(p)];
    stage.seconds = prefix[static_cast<size_t>(hi)] - prefix[static_cast<size_t>(lo)];
    for (int v : stage.sends) stage.send_bytes += EstimateValueBytes(graph, v, options.cost);
    double seconds_with_links =
        stage.seconds +
        (crossing[static_cast<size_t>(lo)] + crossing[static_cast<size_t>(hi)]) / options.link_bytes_per_second;
    partition.bottleneck_seconds = std::max(partition.bottleneck_seconds, seconds_with_links);
    partition.stages.push_back(std::move(stage));
  }
  for (size_t o = 0; o < graph.outputs.size(); ++o) {
    int stage = graph_output_stage[o];
    if (stage < 0) {
      int made = g.made_at[static_cast<size_t>(graph.outputs[o])];
      stage = static_cast<int>(std::upper_bound(cuts.begin(), cuts.end(), made) - cuts.begin()) - 1;
    }
    partition.graph_output_stage.push_back(stage);
  }
  return partition;
}

std::string DescribePipelinePartition(const Graph& graph, const PipelinePartition& partition) {
  std::ostringstream out;
  double total = 0;
  for (const PipelineStage& s : partition.stages) total += s.seconds;
  for (size_t i = 0; i < partition.stages.size(); ++i) {
    const PipelineStage& s = partition.stages[i];
    out << "stage " << i << ": nodes " << s.first_node << "-" << (s.end_node == 0 ? 0 : s.end_node - 1);
    if (s.end_node > s.first_node) {
      out << " (" << graph.nodes[s.first_node].name << " .. " << graph.nodes[s.end_node - 1].name << ")";
    }
    out << ", " << FormatFlops(s.flops) << ", weights " << FormatBytes(s.weight_bytes);
    char share[32];
    std::snprintf(share, sizeof share, "%.0f%%", total > 0 ? 100.0 * s.seconds / total : 0.0);
    out << ", " << share << " of the " << (partition.measured ? "measured" : "estimated") << " time";
    if (i + 1 < partition.stages.size()) {
      out << ", sends " << s.sends.size() << " value(s) (" << FormatBytes(s.send_bytes) << ", estimated)";
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace tessera
