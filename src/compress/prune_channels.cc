// PruneChannels: for each product, the region of elementwise nodes its output flows through, the one
// product at the end of it, and the slicing of every tensor indexed by the pruned channels.
#include "compress/prune_channels.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "compress/rewrite_common.h"

namespace tessera::compress {
namespace {

bool IsProduct(const onnx::NodeProto& n) {
  if (!n.domain().empty() || n.input_size() < 2) return false;
  if (n.op_type() == "Conv") return IntAttribute(n, "group", 1) == 1;
  if (n.op_type() == "Gemm") return IntAttribute(n, "transA", 0) == 0;
  return n.op_type() == "MatMul";
}

// The axis of a product's weight that indexes its output channels, and the one that indexes its input.
int64_t OutputAxis(const onnx::NodeProto& n) {
  if (n.op_type() == "Conv") return 0;
  return n.op_type() == "Gemm" && IntAttribute(n, "transB", 0) != 0 ? 0 : 1;
}
int64_t InputAxis(const onnx::NodeProto& n) { return n.op_type() == "Conv" ? 1 : 1 - OutputAxis(n); }

bool IsElementwise(const onnx::NodeProto& n) {
  static const std::set<std::string> ops{"Relu", "Clip", "Sigmoid", "Tanh", "Erf", "Add", "Sub", "Mul", "Div"};
  return n.domain().empty() && ops.count(n.op_type()) != 0 && n.output_size() == 1;
}

int64_t Count(const onnx::TensorProto& t) {
  int64_t c = 1;
  for (int64_t d : t.dims()) c *= d;
  return c;
}

// values with `dims`, keeping only the indices `keep` along `axis`.
std::vector<float> SliceAxis(const std::vector<float>& values, std::vector<int64_t>& dims, int64_t axis,
                             const std::vector<int64_t>& keep) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= dims[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < dims.size(); ++d) inner *= dims[d];
  const int64_t extent = dims[static_cast<size_t>(axis)];
  std::vector<float> out;
  out.reserve(static_cast<size_t>(outer * static_cast<int64_t>(keep.size()) * inner));
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t k : keep) {
      const float* from = values.data() + (o * extent + k) * inner;
      out.insert(out.end(), from, from + inner);
    }
  }
  dims[static_cast<size_t>(axis)] = static_cast<int64_t>(keep.size());
  return out;
}

struct Pair {
  int consumer = -1;
  std::vector<std::pair<int, int>> channel_vectors;  // (node, input slot) of 1-D per-channel constants
  std::set<std::string> region;                      // values between the two products
};

// Follows `producer`'s output through elementwise nodes; "" and `pair` filled, or why it cannot be pruned.
std::string FindPair(const ModelEdit& edit, const std::vector<std::vector<std::pair<int, int>>>& readers_of,
                     const std::map<std::string, int>& value_index, const std::set<std::string>& outputs,
                     const std::set<std::string>& scalar_constants, int producer, int64_t channels,
                     const PruneOptions& o, Pair& pair) {
  const auto& nodes = edit.model().graph().node();
  const onnx::NodeProto& p = nodes[producer];
  std::vector<std::string> queue{p.output(0)};
  std::set<int> elementwise;
  pair.region.insert(p.output(0));
  while (!queue.empty()) {
    const std::string v = queue.back();
    queue.pop_back();
    if (outputs.count(v)) return "its output reaches the graph output '" + v + "'";
    auto vi = value_index.find(v);
    if (vi == value_index.end()) return "its output '" + v + "' is never read";
    for (const auto& [r, slot] : readers_of[static_cast<size_t>(vi->second)]) {
      const onnx::NodeProto& n = nodes[r];
      if (IsProduct(n) && slot == 0 && (n.op_type() == "Conv") == (p.op_type() == "Conv")) {
        const onnx::TensorProto* w = edit.ConstantInitializer(n.input(1));
        if (w == nullptr || w->data_type() != onnx::TensorProto::FLOAT || IsPruneExcluded(n, o)) {
          return "it feeds '" + NodeLabel(n) + "', whose weight cannot shrink";
        }
        if (w->dims(static_cast<int>(InputAxis(n))) != channels) return "it feeds '" + NodeLabel(n) + "' oddly";
        if (pair.consumer >= 0 && pair.consumer != r) return "it feeds two products";
        pair.consumer = r;
        continue;
      }
      if (!IsElementwise(n)) return "it reaches " + n.op_type() + " '" + NodeLabel(n) + "'";
      elementwise.insert(r);
      if (pair.region.insert(n.output(0)).second) queue.push_back(n.output(0));
    }
  }
  // Every other input of the nodes on the way must be a constant that does not mix channels (checked once
  // the region is complete: GELU's last Mul reads two values of it).
  for (int r : elementwise) {
    const onnx::NodeProto& n = nodes[r];
    for (int i = 0; i < n.input_size(); ++i) {
      const std::string& in = n.input(i);
      if (in.empty() || pair.region.count(in)) continue;
      const onnx::TensorProto* c = edit.ConstantInitializer(in);
      if ((c != nullptr && Count(*c) == 1) || scalar_constants.count(in)) continue;
      if (c != nullptr && p.op_type() != "Conv" && c->dims_size() == 1 && c->dims(0) == channels &&
          c->data_type() == onnx::TensorProto::FLOAT) {
        pair.channel_vectors.push_back({r, i});
        continue;
      }
      return "it meets '" + in + "' at " + n.op_type() + " '" + NodeLabel(n) + "'";
    }
  }
  return pair.consumer >= 0 ? "" : "it reaches no other product";
}

// Replaces input `slot` of `node` by a new initializer holding `values` of `dims`.
void ReplaceInput(ModelEdit& edit, onnx::NodeProto& node, int slot, const std::vector<int64_t>& dims,
                  const std::vector<float>& values) {
  const std::string name = edit.UniqueName(node.input(slot) + "_pruned");
  edit.AddFloatInitializer(name, dims, values);
  node.set_input(slot, name);
}

}  // namespace

bool IsPruneExcluded(const onnx::NodeProto& node, const PruneOptions& o) {
  for (const std::string& e : o.exclude) {
    if (e == node.op_type() || (!node.name().empty() && e == node.name())) return true;
  }
  return false;
}

onnx::TensorProto* MutableInitializer(onnx::GraphProto& graph, const std::string& name) {
  for (int i = 0; i < graph.initializer_size(); ++i) {
    if (graph.initializer(i).name() == name) return graph.mutable_initializer(i);
  }
  return nullptr;
}

void SetFloatData(onnx::TensorProto& t, const std::vector<int64_t>& dims, const std::vector<float>& values) {
  t.clear_dims();
  for (int64_t d : dims) t.add_dims(d);
  t.clear_float_data();
  t.clear_external_data();
  t.set_data_location(onnx::TensorProto::DEFAULT);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
}

Status PruneChannels(ModelEdit& edit, const PruneOptions& o, QuantizeReport& report) {
  onnx::GraphProto& graph = edit.graph();
  std::set<std::string> outputs;
  for (const auto& v : graph.output()) outputs.insert(v.name());
  std::set<std::string> stale;    // values whose declared shapes no longer hold
  std::set<std::string> scalars;  // outputs of one-element Constant nodes (PyTorch writes GELU's that way)
  for (const onnx::NodeProto& n : graph.node()) {
    if (n.op_type() != "Constant" || !n.domain().empty() || n.output_size() != 1) continue;
    for (const onnx::AttributeProto& a : n.attribute()) {
      if (a.name() == "value_float" || a.name() == "value_int" || (a.name() == "value" && Count(a.t()) == 1)) {
        scalars.insert(n.output(0));
      }
    }
  }
  for (int pi = 0; pi < graph.node_size(); ++pi) {
    const onnx::NodeProto& p = graph.node(pi);
    if (!IsProduct(p)) continue;
    if (IsPruneExcluded(p, o)) {
      report.skipped.push_back({NodeLabel(p), p.op_type(), "excluded"});
      continue;
    }
    const onnx::TensorProto* wt = edit.ConstantInitializer(p.input(1));
    if (wt == nullptr || wt->data_type() != onnx::TensorProto::FLOAT) {
      report.skipped.push_back({NodeLabel(p), p.op_type(), "weight is not a constant float32 initializer"});
      continue;
    }
    std::vector<int64_t> w_dims(wt->dims().begin(), wt->dims().end());
    const int64_t axis = OutputAxis(p);
    if (static_cast<int64_t>(w_dims.size()) <= axis || (p.op_type() != "Conv" && w_dims.size() != 2)) continue;
    const int64_t channels = w_dims[static_cast<size_t>(axis)];
    // Readers per value, rebuilt per product: earlier pairs renamed inputs.
    std::map<std::string, int> value_index;
    std::vector<std::vector<std::pair<int, int>>> readers_of;
    for (int n = 0; n < graph.node_size(); ++n) {
      for (int i = 0; i < graph.node(n).input_size(); ++i) {
        const std::string& in = graph.node(n).input(i);
        if (in.empty()) continue;
        auto [it, added] = value_index.emplace(in, static_cast<int>(readers_of.size()));
        if (added) readers_of.emplace_back();
        readers_of[static_cast<size_t>(it->second)].push_back({n, i});
      }
    }
    Pair pair;
    const std::string why = FindPair(edit, readers_of, value_index, outputs, scalars, pi, channels, o, pair);
    if (!why.empty()) {
      report.skipped.push_back({NodeLabel(p), p.op_type(), "channels kept: " + why});
      continue;
    }
    // Keep the channels with the largest L1 norm of their weights, in their original order.
    TS_ASSIGN_OR_RETURN(std::vector<float> w, edit.ReadFloats(*wt));
    std::vector<double> norm(static_cast<size_t>(channels), 0.0);
    const int64_t inner = static_cast<int64_t>(w.size()) / channels / (axis == 0 ? 1 : w_dims[0]);
    for (size_t i = 0; i < w.size(); ++i) {
      const int64_t c = axis == 0 ? static_cast<int64_t>(i) / inner : static_cast<int64_t>(i) % channels;
      norm[static_cast<size_t>(c)] += std::fabs(w[i]);
    }
    const int64_t kept = std::max<int64_t>(1, channels - static_cast<int64_t>(std::floor(o.sparsity * channels)));
    std::vector<int64_t> order(static_cast<size_t>(channels));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return norm[a] > norm[b]; });
    std::vector<int64_t> keep(order.begin(), order.begin() + kept);
    std::sort(keep.begin(), keep.end());
    std::vector<bool> kept_mask(static_cast<size_t>(channels), false);
    for (int64_t k : keep) kept_mask[static_cast<size_t>(k)] = true;

    LayerReport layer = NewLayerReport(p);
    const onnx::NodeProto& consumer = graph.node(pair.consumer);
    layer.form =
        "channels " + std::to_string(channels) + " -> " + std::to_string(kept) + " (into " + NodeLabel(consumer) + ")";
    layer.output = consumer.output(0);  // the producer's own output changed shape
    std::vector<float> zeroed = w;
    for (size_t i = 0; i < w.size(); ++i) {
      const int64_t c = axis == 0 ? static_cast<int64_t>(i) / inner : static_cast<int64_t>(i) % channels;
      if (!kept_mask[static_cast<size_t>(c)]) zeroed[i] = 0.0f;
    }
    layer.weight = CompareValues(zeroed.data(), w.data(), static_cast<int64_t>(w.size()));

    std::vector<int64_t> dims = w_dims;
    const std::vector<float> w_new = SliceAxis(w, dims, axis, keep);
    ReplaceInput(edit, *graph.mutable_node(pi), 1, dims, w_new);
    const int bias_slot = 2;
    if (p.input_size() > bias_slot && !p.input(bias_slot).empty()) {
      const onnx::TensorProto* b = edit.ConstantInitializer(p.input(bias_slot));
      if (b == nullptr || Count(*b) != channels) return Internal("bias of '" + NodeLabel(p) + "' is not per channel");
      TS_ASSIGN_OR_RETURN(std::vector<float> bv, edit.ReadFloats(*b));
      std::vector<int64_t> bd(b->dims().begin(), b->dims().end());
      const std::vector<float> b_new = SliceAxis(bv, bd, static_cast<int64_t>(bd.size()) - 1, keep);
      ReplaceInput(edit, *graph.mutable_node(pi), bias_slot, bd, b_new);
    }
    for (const auto& [n, slot] : pair.channel_vectors) {
      const onnx::TensorProto* c = edit.ConstantInitializer(graph.node(n).input(slot));
      TS_ASSIGN_OR_RETURN(std::vector<float> cv, edit.ReadFloats(*c));
      std::vector<int64_t> cd(c->dims().begin(), c->dims().end());
      const std::vector<float> c_new = SliceAxis(cv, cd, 0, keep);
      ReplaceInput(edit, *graph.mutable_node(n), slot, cd, c_new);
    }
    const onnx::TensorProto* wc = edit.ConstantInitializer(consumer.input(1));
    TS_ASSIGN_OR_RETURN(std::vector<float> cw, edit.ReadFloats(*wc));
    std::vector<int64_t> cd(wc->dims().begin(), wc->dims().end());
    const std::vector<float> cw_new = SliceAxis(cw, cd, InputAxis(consumer), keep);
    ReplaceInput(edit, *graph.mutable_node(pair.consumer), 1, cd, cw_new);
    stale.insert(pair.region.begin(), pair.region.end());
    report.layers.push_back(std::move(layer));
  }
  // Declared shapes of the values between pruned pairs changed: drop them (shape inference redoes them).
  auto* infos = graph.mutable_value_info();
  infos->erase(std::remove_if(infos->begin(), infos->end(),
                              [&](const onnx::ValueInfoProto& v) { return stale.count(v.name()) != 0; }),
               infos->end());
  return Status::Ok();
}

}  // namespace tessera::compress
