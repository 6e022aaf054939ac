// Conv fusion pass (see conv_fusion.h).
#include "graph/passes/conv_fusion.h"

#include <cmath>
#include <limits>
#include <string>
#include <optional>
#include <unordered_set>
#include <utility>
#include <vector>

#include "graph/passes/squeeze_excitation_fusion.h"
// Which convolutions run as Winograd (so that their neighbours can share its layout) is the kernels' answer.
#include "ops/registry.h"

namespace tessera {
namespace {

// For each value id, the indices of the nodes that read it (a node reading it twice counts twice).
std::vector<std::vector<size_t>> Consumers(const Graph& graph) {
  std::vector<std::vector<size_t>> consumers(graph.values.size());
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    for (int id : graph.nodes[n].inputs) {
      if (id != kNoValue) consumers[static_cast<size_t>(id)].push_back(n);
    }
  }
  return consumers;
}

std::optional<float> FloatScalar(const Tensor& t) {
  if (t.dtype() != DType::kFloat32 || t.element_count() != 1) return std::nullopt;
  return t.data<float>()[0];
}

// A float32 scalar that is an initializer or the output of a Constant node (exporters write Clip's
// bounds either way), or nullopt when `id` is neither.
std::optional<float> ConstantScalar(const Graph& graph, const std::vector<int>& producers, int id) {
  auto it = graph.constants.find(id);
  if (it != graph.constants.end()) return FloatScalar(it->second);
  const int p = producers[static_cast<size_t>(id)];
  if (p < 0) return std::nullopt;
  const Node& node = graph.nodes[static_cast<size_t>(p)];
  if (node.op_type != "Constant" || !node.domain.empty()) return std::nullopt;
  if (const Attribute* v = node.FindAttribute("value"); v && v->type == Attribute::Type::kTensor)
    return FloatScalar(v->t);
  if (const Attribute* v = node.FindAttribute("value_float"); v && v->type == Attribute::Type::kFloat) return v->f;
  return std::nullopt;
}

// Sets the activation attributes of `fused` from a Relu, a Clip (with constant or absent bounds), a
// HardSwish (opset 14), a HardSigmoid (MobileNetV3's activations) or a Sigmoid (detection heads) reading
// `input`; false, touching
// nothing, for any other node.
bool ReadActivation(const Graph& graph, const std::vector<int>& producers, const Node& node, int input,
                    Node& fused) {
  if (!node.domain.empty() || node.outputs.size() != 1 || node.inputs.empty() || node.inputs[0] != input) return false;
  Attribute kind;
  kind.type = Attribute::Type::kString;
  if ((node.op_type == "Relu" || node.op_type == "HardSwish" || node.op_type == "Sigmoid") && node.inputs.size() == 1) {
    kind.s = node.op_type;
    fused.attributes["activation"] = kind;
    return true;
  }
  if (node.op_type == "HardSigmoid" && node.inputs.size() == 1) {
    kind.s = "HardSigmoid";
    fused.attributes["activation"] = kind;
    Attribute a;
    a.type = Attribute::Type::kFloat;
    a.f = node.GetFloat("alpha", 0.2f);
    fused.attributes["activation_alpha"] = a;
    a.f = node.GetFloat("beta", 0.5f);
    fused.attributes["activation_beta"] = a;
    return true;
  }
  if (node.op_type != "Clip") return false;
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  if (node.opset < 11) {
    // Opset 1-10: bounds are attributes defaulting to the float range.
    if (node.inputs.size() != 1) return false;
    lo = node.GetFloat("min", std::numeric_limits<float>::lowest());
    hi = node.GetFloat("max", std::numeric_limits<float>::max());
  } else {
    if (node.inputs.size() > 3) return false;
    for (size_t i = 1; i < node.inputs.size(); ++i) {
      if (node.inputs[i] == kNoValue) continue;
      std::optional<float> bound = ConstantScalar(graph, producers, node.inputs[i]);
      if (!bound) return false;
      (i == 1 ? lo : hi) = *bound;
    }
  }
  // min > max sets every element to max (opset 11+); keep that corner on the plain kernels.
  if (!(lo <= hi)) return false;
  kind.s = "Clip";
  fused.attributes["activation"] = kind;
  Attribute a;
  a.type = Attribute::Type::kFloat;
  a.f = lo;
  fused.attributes["activation_min"] = a;
  a.f = hi;
  fused.attributes["activation_max"] = a;
  return true;
}

// Same rank and, dim by dim, the same known size or the same named symbol (such as "batch").
bool SameShape(const ValueInfo& a, const ValueInfo& b) {
  if (!a.has_shape || !b.has_shape || a.dims.size() != b.dims.size()) return false;
  for (size_t i = 0; i < a.dims.size(); ++i) {
    const Dim &da = a.dims[i], &db = b.dims[i];
    const bool same = da.value >= 0 ? da.value == db.value : !da.symbol.empty() && da.symbol == db.symbol;
    if (!same) return false;
  }
  return true;
}

}  // namespace

Status FuseConvActivations(Graph& graph) {
  const std::vector<std::vector<size_t>> consumers = Consumers(graph);
  std::vector<int> producers(graph.values.size(), -1);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    for (int id : graph.nodes[n].outputs) {
      if (id != kNoValue) producers[static_cast<size_t>(id)] = static_cast<int>(n);
    }
  }
  std::unordered_set<int> graph_outputs(graph.outputs.begin(), graph.outputs.end());
  // The one consumer of `id`, or nullopt when it has several, none, or is a graph output.
  auto sole_consumer = [&](int id) -> std::optional<size_t> {
    const auto& c = consumers[static_cast<size_t>(id)];
    if (c.size() != 1 || graph_outputs.count(id)) return std::nullopt;
    return c[0];
  };
  std::vector<bool> removed(graph.nodes.size(), false);
  std::vector<std::optional<Node>> replacement(graph.nodes.size());  // fused node placed at that index
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& conv = graph.nodes[n];
    if (conv.op_type != "Conv" || !conv.domain.empty() || conv.inputs.size() < 2 || conv.inputs.size() > 3 ||
        conv.outputs.size() != 1 || conv.inputs[0] == kNoValue || conv.inputs[1] == kNoValue)
      continue;
    int y = conv.outputs[0];
    if (graph.value(y).dtype != DType::kFloat32) continue;
    Node fused;
    fused.name = conv.name;
    fused.op_type = "FusedConv";
    fused.domain = kTesseraDomain;
    fused.opset = kTesseraOpset;
    fused.attributes = conv.attributes;
    fused.inputs = conv.inputs;
    fused.inputs.resize(3, kNoValue);
    std::vector<size_t> chain;
    std::optional<size_t> next = sole_consumer(y);
    if (next && !removed[*next]) {
      const Node& add = graph.nodes[*next];
      if (add.op_type == "Add" && add.domain.empty() && add.inputs.size() == 2 && add.outputs.size() == 1) {
        const int z = add.inputs[0] == y ? add.inputs[1] : add.inputs[0];
        const ValueInfo& out = graph.value(add.outputs[0]);
        if (z != kNoValue && z != y && graph.value(z).dtype == DType::kFloat32 &&
            SameShape(graph.value(y), graph.value(z)) && SameShape(graph.value(y), out)) {
          fused.inputs.push_back(z);
          chain.push_back(*next);
          y = add.outputs[0];
          next = sole_consumer(y);
        }
      }
    }
    if (next && !removed[*next] && ReadActivation(graph, producers, graph.nodes[*next], y, fused)) {
      chain.push_back(*next);
      y = graph.nodes[*next].outputs[0];
    }
    if (chain.empty()) continue;
    fused.outputs = {y};
    fused.explicit_input_count = fused.inputs.size();
    removed[n] = true;
    for (size_t c : chain) removed[c] = true;
    replacement[chain.back()] = std::move(fused);
  }
  std::vector<Node> nodes;
  nodes.reserve(graph.nodes.size());
  bool any = false;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    if (replacement[n]) {
      nodes.push_back(std::move(*replacement[n]));
      any = true;
    } else if (!removed[n]) {
      nodes.push_back(std::move(graph.nodes[n]));
    }
  }
  graph.nodes = std::move(nodes);
  if (any) graph.opsets[kTesseraDomain] = kTesseraOpset;
  return Status::Ok();
}

namespace {

// A rank-4 value whose channel and spatial dims are known and positive (the batch may be symbolic: an
// empty batch gives an empty output, which the kernel returns before touching memory).
bool IsStaticImage(const ValueInfo& v) {
  if (!v.has_shape || v.dims.size() != 4) return false;
  for (size_t i = 1; i < 4; ++i)
    if (v.dims[i].value <= 0) return false;
  return true;
}

// A max pool that may run channels-last: float32, no Indices output (the only output whose values depend
// on the memory order).
bool IsChannelsLastMaxPool(const Graph& graph, const Node& node) {
  return ((node.op_type == "MaxPool" && node.domain.empty() && node.opset >= 8) ||
          (node.op_type == kChannelsLastMaxPool && node.domain == kTesseraDomain)) &&
         node.outputs.size() == 1 && !node.inputs.empty() && node.inputs[0] != kNoValue &&
         graph.value(node.outputs[0]).dtype == DType::kFloat32;
}

bool IsLayoutCandidate(const Graph& graph, const Node& node) {
  const bool conv = node.op_type == "FusedConv" && node.domain == kTesseraDomain && node.outputs.size() == 1;
  return (conv || IsChannelsLastMaxPool(graph, node)) && IsStaticImage(graph.value(node.inputs[0])) &&
         IsStaticImage(graph.value(node.outputs[0]));
}

// A float32 GlobalAveragePool over a static image: may read its input channels-last.
bool IsChannelsLastGlobalAveragePool(const Graph& graph, const Node& node) {
  return node.op_type == "GlobalAveragePool" && node.domain.empty() && node.inputs.size() == 1 &&
         node.outputs.size() == 1 && node.inputs[0] != kNoValue && IsStaticImage(graph.value(node.inputs[0])) &&
         graph.value(node.inputs[0]).dtype == DType::kFloat32;
}

int AddendOf(const Node& node) { return node.inputs.size() > 3 ? node.inputs[3] : kNoValue; }

// Equal known sizes, or the same named symbol.
bool SameDim(const Dim& a, const Dim& b) {
  return a.value > 0 ? a.value == b.value : !a.symbol.empty() && a.symbol == b.symbol;
}

// A nearest Resize (opset 10+) of a static float32 image that keeps N and C, reading X nowhere else
// among its inputs: it may run channels-last (kChannelsLastResize).
bool IsChannelsLastResize(const Graph& graph, const Node& node) {
  const bool plain = node.op_type == "Resize" && node.domain.empty() && node.opset >= 10;
  const bool converted = node.op_type == kChannelsLastResize && node.domain == kTesseraDomain;
  if ((!plain && !converted) || node.inputs.empty() || node.inputs[0] == kNoValue || node.outputs.size() != 1 ||
      node.GetString("mode", "nearest") != "nearest" ||
      node.GetString("coordinate_transformation_mode", "half_pixel") == "tf_crop_and_resize")
    return false;
  for (size_t i = 1; i < node.inputs.size(); ++i)
    if (node.inputs[i] == node.inputs[0]) return false;
  const ValueInfo& x = graph.value(node.inputs[0]);
  const ValueInfo& y = graph.value(node.outputs[0]);
  if (x.dtype != DType::kFloat32 || y.dtype != DType::kFloat32 || !IsStaticImage(x) || !IsStaticImage(y) ||
      x.dims[1].value != y.dims[1].value)
    return false;
  if (SameDim(x.dims[0], y.dims[0])) return true;
  // A symbolic batch leaves Y's unnamed after shape inference: constant scales of 1 for N and C keep it.
  const int original_opset = converted ? static_cast<int>(node.GetInt("onnx_opset", 0)) : node.opset;
  const size_t scales_input = original_opset < 11 ? 1 : 2;
  if (node.inputs.size() <= scales_input) return false;
  const auto scales = graph.constants.find(node.inputs[scales_input]);
  if (scales == graph.constants.end() || scales->second.dtype() != DType::kFloat32 ||
      scales->second.element_count() != 4)
    return false;
  return scales->second.data<float>()[0] == 1.0f && scales->second.data<float>()[1] == 1.0f;
}

// A Concat of static float32 images along the channels: may run channels-last (kChannelsLastConcat).
bool IsChannelsLastConcat(const Graph& graph, const Node& node) {
  const bool plain = node.op_type == "Concat" && node.domain.empty();
  const bool converted = node.op_type == kChannelsLastConcat && node.domain == kTesseraDomain;
  const int64_t axis = node.GetInt("axis", 0);
  if ((!plain && !converted) || node.inputs.empty() || node.outputs.size() != 1 || (axis != 1 && axis != -3))
    return false;
  const ValueInfo& y = graph.value(node.outputs[0]);
  if (y.dtype != DType::kFloat32 || !IsStaticImage(y)) return false;
  for (int v : node.inputs) {
    if (v == kNoValue) return false;
    const ValueInfo& x = graph.value(v);
    if (x.dtype != DType::kFloat32 || !IsStaticImage(x)) return false;  // the batch matches: Concat's rule
  }
  return true;
}

// For a float32 Mul of a static image by a per-channel scale [N or 1, C, 1, 1] (squeeze-excitation), the
// index of the image input (0 or 1); else -1. Such a Mul may run channels-last (kChannelsLastChannelScale).
int ChannelScaleImageInput(const Graph& graph, const Node& node) {
  if (node.op_type != "Mul" || !node.domain.empty() || node.inputs.size() != 2 || node.outputs.size() != 1 ||
      node.inputs[0] == kNoValue || node.inputs[1] == kNoValue || node.inputs[0] == node.inputs[1])
    return -1;
  const ValueInfo& y = graph.value(node.outputs[0]);
  if (y.dtype != DType::kFloat32 || !IsStaticImage(y)) return -1;
  for (int image = 0; image < 2; ++image) {
    const ValueInfo& x = graph.value(node.inputs[static_cast<size_t>(image)]);
    const ValueInfo& s = graph.value(node.inputs[static_cast<size_t>(1 - image)]);
    if (x.dtype != DType::kFloat32 || s.dtype != DType::kFloat32 || !IsStaticImage(x) || !IsStaticImage(s)) continue;
    auto same_dim = [](const Dim& a, const Dim& b) {
      return a.value > 0 ? a.value == b.value : !a.symbol.empty() && a.symbol == b.symbol;
    };
    bool same = true;
    for (size_t d = 0; d < 4; ++d) same = same && same_dim(x.dims[d], y.dims[d]);
    // The scale may not broadcast the image's batch (s [N, C, 1, 1] against x [1, C, H, W]).
    const bool scale_batch = s.dims[0].value == 1 || same_dim(s.dims[0], x.dims[0]);
    if (same && scale_batch && s.dims[1].value == x.dims[1].value && s.dims[2].value == 1 && s.dims[3].value == 1 &&
        !(x.dims[2].value == 1 && x.dims[3].value == 1))
      return image;
  }
  return -1;
}

// A value's dims when all but the batch are static (the batch reads -1), or empty.
std::vector<int64_t> ImageDims(const ValueInfo& v) {
  std::vector<int64_t> dims;
  if (!v.has_shape) return {};
  for (size_t i = 0; i < v.dims.size(); ++i) {
    if (i > 0 && v.dims[i].value <= 0) return {};
    dims.push_back(i == 0 && v.dims[i].value <= 0 ? -1 : v.dims[i].value);
  }
  return dims;
}

// How a layout-candidate FusedConv's oneDNN kernel does on nChw16c: natively as a 1x1 without padding
// (any stride) or as a Winograd convolution (constant weights only, as DnnlConv packs them from the
// constant); anything else is faster on NHWC.
enum class BlockedKernel { kNone, kPointwise, kWinograd };

BlockedKernel BlockedKernelOf(const Graph& graph, const Node& node) {
  constexpr BlockedKernel kNone = BlockedKernel::kNone;
  if (!IsLayoutCandidate(graph, node) || node.op_type != "FusedConv" || node.inputs.size() < 2) return kNone;
  const std::vector<int64_t> x = ImageDims(graph.value(node.inputs[0]));
  const auto constant_w = graph.constants.find(node.inputs[1]);
  const std::vector<int64_t> w = constant_w != graph.constants.end() ? constant_w->second.shape()
                                                                      : ImageDims(graph.value(node.inputs[1]));
  const std::vector<int64_t> y = ImageDims(graph.value(node.outputs[0]));
  if (x.size() != 4 || w.size() != 4 || y.size() != 4) return kNone;
  const std::string auto_pad = node.GetString("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID") return kNone;
  auto ints_or = [&](const char* key, std::vector<int64_t> fallback) {
    std::vector<int64_t> v = node.GetInts(key);
    return v.empty() ? fallback : v;
  };
  const std::vector<int64_t> stride = ints_or("strides", {1, 1}), dilation = ints_or("dilations", {1, 1});
  const std::vector<int64_t> pads = ints_or("pads", {0, 0, 0, 0});
  const int64_t group = node.GetInt("group", 1);
  if (w[2] == 1 && w[3] == 1) {
    for (int64_t p : pads)
      if (p != 0) return kNone;
    return group == 1 ? BlockedKernel::kPointwise : kNone;
  }
  const bool winograd = constant_w != graph.constants.end() &&
                        KernelRegistry::Global().ConvRunsAsWinograd(
                            {{w[2], w[3]}, stride, dilation, group, x[1], y[1], {y[2], y[3]}});
  return winograd ? BlockedKernel::kWinograd : kNone;
}

// The channels-last values to keep in nChw16c (see ChooseConvLayouts): channels a multiple of 16, a
// producer and readers that all work blocked, addends in their output's layout; and only in regions
// (values linked through convolutions) that hold a Winograd convolution. Elsewhere, as between
// MobileNetV2's 1x1s, blocking saves nothing and would cost a reorder next to each depthwise convolution.
std::unordered_set<int> ChooseBlockedValues(const Graph& graph, const std::unordered_set<int>& channels_last,
                                            const std::vector<std::vector<size_t>>& consumers) {
  std::unordered_set<int> blocked;
  std::vector<size_t> producer(graph.values.size(), graph.nodes.size());
  for (size_t n = 0; n < graph.nodes.size(); ++n)
    for (int out : graph.nodes[n].outputs)
      if (out != kNoValue) producer[static_cast<size_t>(out)] = n;
  std::vector<BlockedKernel> kernel_of(graph.nodes.size());
  for (size_t n = 0; n < graph.nodes.size(); ++n) kernel_of[n] = BlockedKernelOf(graph, graph.nodes[n]);
  auto works_blocked = [&](size_t n) { return kernel_of[n] != BlockedKernel::kNone; };
  for (int v : channels_last) {
    const std::vector<int64_t> dims = ImageDims(graph.value(v));
    const size_t p = producer[static_cast<size_t>(v)];
    bool ok = dims.size() == 4 && dims[1] % 16 == 0 && p < graph.nodes.size() && works_blocked(p);
    for (size_t c : consumers[static_cast<size_t>(v)]) {
      ok = ok && (IsChannelsLastGlobalAveragePool(graph, graph.nodes[c]) || works_blocked(c));
    }
    if (ok) blocked.insert(v);
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (const Node& node : graph.nodes) {
      const int z = AddendOf(node);
      if (!IsLayoutCandidate(graph, node) || z == kNoValue) continue;
      if (blocked.count(z) != blocked.count(node.outputs[0])) {
        changed = blocked.erase(z) + blocked.erase(node.outputs[0]) > 0 || changed;
      }
    }
  }
  // Regions: union the blocked values each convolution reads and writes (its addend and output are both
  // or neither, so dropping a whole region keeps them agreeing).
  std::vector<int> parent(graph.values.size());
  for (size_t i = 0; i < parent.size(); ++i) parent[i] = static_cast<int>(i);
  auto root = [&](int v) {
    while (parent[static_cast<size_t>(v)] != v) v = parent[static_cast<size_t>(v)];
    return v;
  };
  std::vector<int> winograd_values;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const Node& node = graph.nodes[n];
    if (!IsLayoutCandidate(graph, node) || node.op_type != "FusedConv") continue;
    std::vector<int> touched;
    for (int v : {node.inputs[0], AddendOf(node), node.outputs[0]})
      if (v != kNoValue && blocked.count(v)) touched.push_back(v);
    for (size_t i = 1; i < touched.size(); ++i) parent[static_cast<size_t>(root(touched[i]))] = root(touched[0]);
    if (!touched.empty() && kernel_of[n] == BlockedKernel::kWinograd) winograd_values.push_back(touched[0]);
  }
  std::unordered_set<int> kept_roots;
  for (int v : winograd_values) kept_roots.insert(root(v));
  std::unordered_set<int> kept;
  for (int v : blocked)
    if (kept_roots.count(root(v))) kept.insert(v);
  return kept;
}

}  // namespace

Status ChooseConvLayouts(Graph& graph) {
  // Plain Convs join as FusedConv without post-ops; those that end up with no channels-last side revert.
  std::vector<int> original_opset(graph.nodes.size(), -1);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    Node& node = graph.nodes[n];
    if (node.op_type != "Conv" || !node.domain.empty() || node.inputs.size() < 2 || node.inputs.size() > 3 ||
        node.outputs.size() != 1 || node.inputs[0] == kNoValue || node.inputs[1] == kNoValue ||
        graph.value(node.outputs[0]).dtype != DType::kFloat32)
      continue;
    original_opset[n] = node.opset;
    node.op_type = "FusedConv";
    node.domain = kTesseraDomain;
    node.opset = kTesseraOpset;
  }
  const std::vector<std::vector<size_t>> consumers = Consumers(graph);
  std::unordered_set<int> graph_outputs(graph.outputs.begin(), graph.outputs.end());
  std::unordered_set<int> channels_last;  // values that travel NHWC between convolutions
  // Whether `reader` can read `y` channels-last: as a convolution's X or addend Z, a max pool's X, a global
  // average pool's X, the image (not the scale) of a channel-scale Mul, a nearest Resize's X, or any input
  // of a channel Concat.
  auto reads_channels_last = [&](const Node& reader, int y) {
    if (IsChannelsLastGlobalAveragePool(graph, reader) || IsChannelsLastConcat(graph, reader)) return true;
    if (IsChannelsLastResize(graph, reader)) return reader.inputs[0] == y;
    const int image = ChannelScaleImageInput(graph, reader);
    if (image >= 0) return reader.inputs[static_cast<size_t>(1 - image)] != y;
    if (!IsLayoutCandidate(graph, reader)) return false;
    for (size_t i = 0; i < reader.inputs.size(); ++i)
      if (reader.inputs[i] == y && i != 0 && i != 3) return false;
    return true;
  };
  for (const Node& node : graph.nodes) {
    if (!IsLayoutCandidate(graph, node) && ChannelScaleImageInput(graph, node) < 0 &&
        !IsChannelsLastResize(graph, node) && !IsChannelsLastConcat(graph, node))
      continue;
    const int y = node.outputs[0];
    const auto& readers = consumers[static_cast<size_t>(y)];
    bool ok = !readers.empty() && !graph_outputs.count(y);
    for (size_t c : readers) ok = ok && reads_channels_last(graph.nodes[c], y);
    if (ok) channels_last.insert(y);
  }
  // A node's addend is read in its output's layout, and a max pool's, channel-scale Mul's or Resize's output
  // has its input image's layout: both channels-last or neither; a Concat's inputs and output all or none;
  // to a fixpoint.
  for (bool changed = true; changed;) {
    changed = false;
    for (const Node& node : graph.nodes) {
      if (IsChannelsLastConcat(graph, node)) {
        bool all = channels_last.count(node.outputs[0]) > 0;
        for (int v : node.inputs) all = all && channels_last.count(v) > 0;
        if (all) continue;
        changed = channels_last.erase(node.outputs[0]) > 0 || changed;
        for (int v : node.inputs) changed = channels_last.erase(v) > 0 || changed;
        continue;
      }
      if (IsChannelsLastResize(graph, node)) {
        const int x = node.inputs[0];
        if (channels_last.count(x) != channels_last.count(node.outputs[0]))
          changed = channels_last.erase(x) + channels_last.erase(node.outputs[0]) > 0 || changed;
        continue;
      }
      const int image = ChannelScaleImageInput(graph, node);
      if (image >= 0) {
        const int x = node.inputs[static_cast<size_t>(image)];
        if (channels_last.count(x) != channels_last.count(node.outputs[0]))
          changed = channels_last.erase(x) + channels_last.erase(node.outputs[0]) > 0 || changed;
        continue;
      }
      const int z = IsChannelsLastMaxPool(graph, node) ? node.inputs[0] : AddendOf(node);
      if (!IsLayoutCandidate(graph, node) || z == kNoValue) continue;
      if (channels_last.count(z) != channels_last.count(node.outputs[0])) {
        changed = channels_last.erase(z) + channels_last.erase(node.outputs[0]) > 0 || changed;
      }
    }
  }
  const std::unordered_set<int> blocked = ChooseBlockedValues(graph, channels_last, consumers);
  auto layout = [&](int v) {
    Attribute a;
    a.type = Attribute::Type::kInt;
    a.i = blocked.count(v) ? kBlockedLayout : kNhwcLayout;
    return a;
  };
  bool any = false;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    Node& node = graph.nodes[n];
    if (IsChannelsLastMaxPool(graph, node) && IsLayoutCandidate(graph, node) && channels_last.count(node.inputs[0])) {
      node.op_type = kChannelsLastMaxPool;
      node.domain = kTesseraDomain;
      node.opset = kTesseraOpset;
      any = true;
      continue;
    }
    if (const int image = ChannelScaleImageInput(graph, node);
        image >= 0 && channels_last.count(node.inputs[static_cast<size_t>(image)])) {
      if (image == 1) std::swap(node.inputs[0], node.inputs[1]);
      node.op_type = kChannelsLastChannelScale;
      node.domain = kTesseraDomain;
      node.opset = kTesseraOpset;
      any = true;
      continue;
    }
    if (IsChannelsLastResize(graph, node) && channels_last.count(node.inputs[0])) {
      if (node.op_type != kChannelsLastResize) {
        Attribute opset;
        opset.type = Attribute::Type::kInt;
        opset.i = node.opset;
        node.attributes["onnx_opset"] = opset;
      }
      node.op_type = kChannelsLastResize;
      node.domain = kTesseraDomain;
      node.opset = kTesseraOpset;
      any = true;
      continue;
    }
    if (IsChannelsLastConcat(graph, node) && channels_last.count(node.outputs[0])) {
      node.op_type = kChannelsLastConcat;
      node.domain = kTesseraDomain;
      node.opset = kTesseraOpset;
      any = true;
      continue;
    }
    if (IsChannelsLastGlobalAveragePool(graph, node) && channels_last.count(node.inputs[0])) {
      node.op_type = kChannelsLastGlobalAveragePool;
      node.domain = kTesseraDomain;
      node.opset = kTesseraOpset;
      node.attributes["channels_last_input"] = layout(node.inputs[0]);
      any = true;
      continue;
    }
    if (node.op_type != "FusedConv" || node.domain != kTesseraDomain) continue;
    const bool in = IsLayoutCandidate(graph, node) && channels_last.count(node.inputs[0]);
    const bool out = IsLayoutCandidate(graph, node) && channels_last.count(node.outputs[0]);
    if (in) node.attributes["channels_last_input"] = layout(node.inputs[0]);
    if (out) node.attributes["channels_last_output"] = layout(node.outputs[0]);
    if (!in && !out && original_opset[n] >= 0) {
      node.op_type = "Conv";
      node.domain.clear();
      node.opset = original_opset[n];
    }
    any = any || in || out || original_opset[n] < 0;
  }
  if (any) graph.opsets[kTesseraDomain] = kTesseraOpset;
  return Status::Ok();
}

namespace {

// A constant float32 tensor of shape [n], or nullptr.
const Tensor* ConstantVector(const Graph& graph, int id, int64_t n) {
  auto it = graph.constants.find(id);
  if (id == kNoValue || it == graph.constants.end()) return nullptr;
  const Tensor& t = it->second;
  return t.dtype() == DType::kFloat32 && t.rank() == 1 && t.dim(0) == n ? &t : nullptr;
}

// A new constant value holding `t`, named after `base`.
int AddConstant(Graph& graph, const std::string& base, Tensor t) {
  std::string name = base;
  for (int i = 0; graph.value_ids.count(name); ++i) name = base + "_" + std::to_string(i);
  const int id = graph.ValueId(name);
  ValueInfo& v = graph.values[static_cast<size_t>(id)];
  v.dtype = DType::kFloat32;
  v.has_shape = true;
  v.dims.clear();
  for (int64_t d : t.shape()) v.dims.push_back(Dim{d, ""});
  graph.constants[id] = std::move(t);
  return id;
}

}  // namespace

Status FoldBatchNormIntoConv(Graph& graph) {
  const std::vector<std::vector<size_t>> consumers = Consumers(graph);
  std::unordered_set<int> graph_outputs(graph.outputs.begin(), graph.outputs.end());
  std::vector<bool> removed(graph.nodes.size(), false);
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    Node& conv = graph.nodes[n];
    // ConvTranspose with group 1 too: its W is [C, M, k...], so the output channel is W's second axis.
    const bool transpose = conv.op_type == "ConvTranspose";
    if ((conv.op_type != "Conv" && !transpose) || !conv.domain.empty() || conv.inputs.size() < 2 ||
        conv.inputs.size() > 3 || conv.outputs.size() != 1 || conv.inputs[0] == kNoValue ||
        (transpose && conv.GetInt("group", 1) != 1))
      continue;
    const int y = conv.outputs[0];
    const auto& readers = consumers[static_cast<size_t>(y)];
    if (readers.size() != 1 || graph_outputs.count(y) || graph.value(y).dtype != DType::kFloat32) continue;
    auto w_it = graph.constants.find(conv.inputs[1]);
    if (w_it == graph.constants.end() || w_it->second.dtype() != DType::kFloat32 || w_it->second.rank() < 3) continue;
    const Tensor& w = w_it->second;
    const int64_t m = transpose ? w.dim(1) : w.dim(0);
    const Node& bn = graph.nodes[readers[0]];
    // Opset 9+ inference form only: earlier opsets have `spatial`/`is_test`, training mode has more outputs.
    if (bn.op_type != "BatchNormalization" || !bn.domain.empty() || bn.opset < 9 || bn.inputs.size() != 5 ||
        bn.inputs[0] != y || bn.GetInt("training_mode", 0) != 0 || bn.GetInt("spatial", 1) != 1 ||
        bn.outputs.empty() || bn.outputs[0] == kNoValue)
      continue;
    bool extra_outputs = false;
    for (size_t i = 1; i < bn.outputs.size(); ++i) extra_outputs = extra_outputs || bn.outputs[i] != kNoValue;
    const Tensor* scale = ConstantVector(graph, bn.inputs[1], m);
    const Tensor* shift = ConstantVector(graph, bn.inputs[2], m);
    const Tensor* mean = ConstantVector(graph, bn.inputs[3], m);
    const Tensor* var = ConstantVector(graph, bn.inputs[4], m);
    const Tensor* b = conv.inputs.size() > 2 ? ConstantVector(graph, conv.inputs[2], m) : nullptr;
    const bool has_b = conv.inputs.size() > 2 && conv.inputs[2] != kNoValue;
    if (extra_outputs || !scale || !shift || !mean || !var || (has_b && !b)) continue;
    // y = (conv + b - mean) * s + shift with s = scale / sqrt(var + epsilon), folded in double.
    const double epsilon = bn.GetFloat("epsilon", 1e-5f);
    TS_ASSIGN_OR_RETURN(Tensor new_w, Tensor::AllocateUninitialized(DType::kFloat32, w.shape()));
    TS_ASSIGN_OR_RETURN(Tensor new_b, Tensor::AllocateUninitialized(DType::kFloat32, {m}));
    // W as [outer, m, inner]: Conv [M, C/group * k...] (outer 1), ConvTranspose [C, M, k...].
    const int64_t outer = transpose ? w.dim(0) : 1;
    const int64_t inner = w.element_count() / (outer * m);
    for (int64_t c = 0; c < m; ++c) {
      const double sc = scale->data<float>()[c] / std::sqrt(static_cast<double>(var->data<float>()[c]) + epsilon);
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t k = (o * m + c) * inner + i;
          new_w.data<float>()[k] = static_cast<float>(w.data<float>()[k] * sc);
        }
      }
      const double bias = has_b ? b->data<float>()[c] : 0.0;
      new_b.data<float>()[c] = static_cast<float>((bias - mean->data<float>()[c]) * sc + shift->data<float>()[c]);
    }
    const int out = bn.outputs[0];
    removed[readers[0]] = true;
    conv.inputs.resize(3);
    conv.inputs[1] = AddConstant(graph, conv.name + "_folded_w", std::move(new_w));
    conv.inputs[2] = AddConstant(graph, conv.name + "_folded_b", std::move(new_b));
    conv.explicit_input_count = 3;
    conv.outputs[0] = out;
  }
  std::vector<Node> nodes;
  for (size_t n = 0; n < graph.nodes.size(); ++n)
    if (!removed[n]) nodes.push_back(std::move(graph.nodes[n]));
  graph.nodes = std::move(nodes);
  return Status::Ok();
}

Status RunConvFusion(Graph& graph) {
  TS_RETURN_IF_ERROR(FoldBatchNormIntoConv(graph));
  TS_RETURN_IF_ERROR(FuseConvActivations(graph));
  TS_RETURN_IF_ERROR(ChooseConvLayouts(graph));
  return FuseSqueezeExcitation(graph);
}

}  // namespace tessera
