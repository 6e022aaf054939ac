// Squeeze-excitation fusion pass (see squeeze_excitation_fusion.h).
#include "graph/passes/squeeze_excitation_fusion.h"

#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "graph/layout.h"

namespace tessera {
namespace {

// FusedConv's activation attributes, renamed with the fused node's prefixes.
constexpr const char* kActivationKeys[] = {"activation", "activation_min", "activation_max", "activation_alpha",
                                           "activation_beta"};

// `id`, or the constant it copies when an Identity chain of a constant produces it (the ONNX exporter writes
// equal initializers once and the others as Identity nodes: torchvision's zero SE biases).
int ResolveConstant(const Graph& graph, const std::vector<int>& producer, int id) {
  while (id != kNoValue && !graph.constants.count(id) && producer[static_cast<size_t>(id)] >= 0) {
    const Node& p = graph.nodes[static_cast<size_t>(producer[static_cast<size_t>(id)])];
    if (p.op_type != "Identity" || !p.domain.empty() || p.inputs.size() != 1) break;
    id = p.inputs[0];
  }
  return id;
}

bool IsFloatConstant(const Graph& graph, int id, const Shape& shape) {
  auto it = graph.constants.find(id);
  return it != graph.constants.end() && it->second.dtype() == DType::kFloat32 && it->second.shape() == shape;
}

// For a group-1, unpadded 1x1 convolution (FusedConv without addend, or a plain Conv) of a static [N, C, 1, 1]
// value with a float32 constant W [M, C, 1, 1] and an absent or constant bias [M]: {M, C}; else nullopt.
std::optional<std::pair<int64_t, int64_t>> UnitImagePointwise(const Graph& graph, const std::vector<int>& producer,
                                                              const Node& node) {
  const bool fused = node.op_type == "FusedConv" && node.domain == kTesseraDomain;
  const bool plain = node.op_type == "Conv" && node.domain.empty();
  if ((!fused && !plain) || node.inputs.size() < 2 || node.inputs.size() > (fused ? 4u : 3u) ||
      node.outputs.size() != 1 || node.inputs[0] == kNoValue || (node.inputs.size() > 3 && node.inputs[3] != kNoValue))
    return std::nullopt;
  if (node.GetInt("group", 1) != 1 || node.GetInt("channels_last_input", 0) == kBlockedLayout ||
      node.GetInt("channels_last_output", 0) == kBlockedLayout)
    return std::nullopt;
  const std::string auto_pad = node.GetString("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID") return std::nullopt;
  for (int64_t p : node.GetInts("pads"))
    if (p != 0) return std::nullopt;
  const ValueInfo& x = graph.value(node.inputs[0]);
  if (x.dtype != DType::kFloat32 || !x.has_shape || x.dims.size() != 4 || x.dims[1].value <= 0 ||
      x.dims[2].value != 1 || x.dims[3].value != 1)
    return std::nullopt;
  auto w = graph.constants.find(ResolveConstant(graph, producer, node.inputs[1]));
  if (w == graph.constants.end() || w->second.dtype() != DType::kFloat32 || w->second.rank() != 4) return std::nullopt;
  const Shape& ws = w->second.shape();
  if (ws[1] != x.dims[1].value || ws[2] != 1 || ws[3] != 1 || ws[0] < 1) return std::nullopt;
  if (node.inputs.size() > 2 && node.inputs[2] != kNoValue && !IsFloatConstant(graph, ResolveConstant(graph, producer, node.inputs[2]), {ws[0]}))
    return std::nullopt;
  return std::make_pair(ws[0], ws[1]);
}

void CopyActivation(const Node& from, const std::string& prefix, Node& to) {
  for (const char* key : kActivationKeys) {
    const auto it = from.attributes.find(key);
    if (it != from.attributes.end()) to.attributes[prefix + std::string(key).substr(10)] = it->second;
  }
}

}  // namespace

Status FuseSqueezeExcitation(Graph& graph) {
  std::vector<int> producer(graph.values.size(), -1);
  std::vector<int> readers(graph.values.size(), 0);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    for (int id : graph.nodes[n].outputs)
      if (id != kNoValue) producer[static_cast<size_t>(id)] = static_cast<int>(n);
    for (int id : graph.nodes[n].inputs)
      if (id != kNoValue) ++readers[static_cast<size_t>(id)];
  }
  const std::unordered_set<int> graph_outputs(graph.outputs.begin(), graph.outputs.end());
  // The node producing `id` when `id` is read exactly once and is no graph output, else nullptr.
  auto single_use_producer = [&](int id) -> Node* {
    if (id == kNoValue || readers[static_cast<size_t>(id)] != 1 || graph_outputs.count(id)) return nullptr;
    const int p = producer[static_cast<size_t>(id)];
    return p < 0 ? nullptr : &graph.nodes[static_cast<size_t>(p)];
  };
  std::vector<bool> removed(graph.nodes.size(), false);
  bool any = false;
  for (size_t m = 0; m < graph.nodes.size(); ++m) {
    Node& scale = graph.nodes[m];
    if (scale.op_type != kChannelsLastChannelScale || scale.domain != kTesseraDomain || scale.inputs.size() != 2 ||
        scale.outputs.size() != 1)
      continue;
    const int x = scale.inputs[0];
    Node* gate = single_use_producer(scale.inputs[1]);
    if (!gate || removed[static_cast<size_t>(gate - graph.nodes.data())]) continue;
    const auto gate_shape = UnitImagePointwise(graph, producer, *gate);  // W2 [C, S]
    Node* squeeze = gate_shape ? single_use_producer(gate->inputs[0]) : nullptr;
    const auto squeeze_shape = squeeze ? UnitImagePointwise(graph, producer, *squeeze) : std::nullopt;  // W1 [S, C]
    Node* pool = squeeze_shape ? single_use_producer(squeeze->inputs[0]) : nullptr;
    if (!pool || pool->op_type != kChannelsLastGlobalAveragePool || pool->domain != kTesseraDomain ||
        pool->inputs.size() != 1 || pool->inputs[0] != x || pool->GetInt("channels_last_input", 0) != kNhwcLayout)
      continue;
    const ValueInfo& image = graph.value(x);
    if (!image.has_shape || image.dims.size() != 4 || image.dims[1].value != squeeze_shape->second ||
        gate_shape->first != squeeze_shape->second || gate_shape->second != squeeze_shape->first)
      continue;
    Node fused;
    fused.name = scale.name;
    fused.op_type = kChannelsLastSqueezeExcitation;
    fused.domain = kTesseraDomain;
    fused.opset = kTesseraOpset;
    auto constant = [&](const Node& conv, size_t i) {
      return conv.inputs.size() > i ? ResolveConstant(graph, producer, conv.inputs[i]) : kNoValue;
    };
    fused.inputs = {x, constant(*squeeze, 1), constant(*squeeze, 2), constant(*gate, 1), constant(*gate, 2)};
    fused.explicit_input_count = fused.inputs.size();
    fused.outputs = scale.outputs;
    CopyActivation(*squeeze, "squeeze_activation", fused);
    CopyActivation(*gate, "gate_activation", fused);
    removed[static_cast<size_t>(pool - graph.nodes.data())] = true;
    removed[static_cast<size_t>(squeeze - graph.nodes.data())] = true;
    removed[static_cast<size_t>(gate - graph.nodes.data())] = true;
    scale = std::move(fused);
    any = true;
  }
  if (!any) return Status::Ok();
  std::vector<Node> nodes;
  nodes.reserve(graph.nodes.size());
  for (size_t n = 0; n < graph.nodes.size(); ++n)
    if (!removed[n]) nodes.push_back(std::move(graph.nodes[n]));
  graph.nodes = std::move(nodes);
  graph.opsets[kTesseraDomain] = kTesseraOpset;
  return Status::Ok();
}

}  // namespace tessera
