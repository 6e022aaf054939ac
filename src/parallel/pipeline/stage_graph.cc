// Stage extraction: keep the stage's nodes and the constants they read, re-declare the interface.
#include "parallel/pipeline/stage_graph.h"

#include <set>

#include "model/external_data.h"

namespace tessera {

namespace {

// Copies every tensor a graph holds (constants, tensor attributes, subgraphs' too) into memory of its
// own: weights that point into the parsed model would otherwise keep the whole parse alive.
Status OwnTensors(Graph& graph);

Status OwnAttributeTensors(Node& node) {
  for (auto& [name, attr] : node.attributes) {
    if (attr.t.defined()) {
      TS_ASSIGN_OR_RETURN(attr.t, attr.t.Clone());
    }
    for (Tensor& t : attr.tensors) {
      TS_ASSIGN_OR_RETURN(t, t.Clone());
    }
    if (attr.g) TS_RETURN_IF_ERROR(OwnTensors(*attr.g));
    for (auto& g : attr.graphs) {
      if (g) TS_RETURN_IF_ERROR(OwnTensors(*g));
    }
  }
  return Status::Ok();
}

Status OwnTensors(Graph& graph) {
  for (auto& [id, tensor] : graph.constants) {
    // A view of a mapped weight file keeps no parse alive and is resident only where read.
    if (IsMappedFileData(tensor.raw_data(), tensor.byte_size())) continue;
    auto copy = tensor.Clone();
    if (!copy.ok()) return copy.status().WithContext("copying weight '" + graph.value(id).name + "'");
    tensor = std::move(copy).value();
  }
  for (Node& node : graph.nodes) TS_RETURN_IF_ERROR(OwnAttributeTensors(node));
  return Status::Ok();
}

}  // namespace

Status ExtractPipelineStage(Graph& graph, const PipelineStage& stage) {
  auto valid = [&](int id) { return id >= 0 && static_cast<size_t>(id) < graph.values.size(); };
  for (int id : stage.inputs) {
    if (!valid(id))
      return InvalidArgument("pipeline stage input " + std::to_string(id) + " is not a value of the graph");
  }
  for (int id : stage.outputs) {
    if (!valid(id))
      return InvalidArgument("pipeline stage output " + std::to_string(id) + " is not a value of the graph");
  }
  for (size_t n : stage.nodes) {
    if (n >= graph.nodes.size()) {
      return InvalidArgument("pipeline stage names node " + std::to_string(n) + " but graph '" + graph.name + "' has " +
                             std::to_string(graph.nodes.size()));
    }
  }
  std::vector<Node> nodes;
  std::set<int> read;
  for (size_t n : stage.nodes) {
    for (int in : graph.nodes[n].inputs) {
      if (in != kNoValue) read.insert(in);
    }
    nodes.push_back(std::move(graph.nodes[n]));
  }
  for (int id : stage.outputs) read.insert(id);  // a constant the stage delivers as a model output stays
  std::unordered_map<int, Tensor> constants;
  for (auto& [id, tensor] : graph.constants) {
    if (read.count(id)) constants.emplace(id, std::move(tensor));
  }
  graph.nodes = std::move(nodes);
  graph.constants = std::move(constants);
  graph.inputs = stage.inputs;
  graph.outputs = stage.outputs;
  return OwnTensors(graph);
}

}  // namespace tessera
