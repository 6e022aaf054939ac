// FuseQdq: pattern matching over reader lists, then an in-place rewrite (see the header).
#include "graph/passes/qdq_fusion.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "graph/layout.h"
#include "graph/passes/pattern_match.h"
#include "graph/passes/product_epilogue.h"
#include "graph/passes/qdq_channels_last.h"
#include "graph/passes/qdq_hoist.h"
#include "graph/passes/qdq_layer_norm.h"
#include "graph/passes/qdq_match.h"

namespace tessera {
namespace {

const Tensor* ConstantOf(const Graph& graph, int value) { return QdqConstantOf(graph, value); }

// A Q/DQ node's zero-point input, or kNoValue when it has none (the zero point is then 0).
int ZeroPointInput(const Node& n) { return n.inputs.size() > 2 ? n.inputs[2] : kNoValue; }

// The output scale and zero point of the QuantizeLinear a fused product absorbs (node index `quantize`),
// or kNoValue twice when it absorbs none and writes float.
std::pair<int, int> OutputQuantization(const Graph& graph, int quantize) {
  if (quantize < 0) return {kNoValue, kNoValue};
  const Node& q = graph.nodes[static_cast<size_t>(quantize)];
  return {q.inputs[1], ZeroPointInput(q)};
}

// A DequantizeLinear of a constant int8 weight, per tensor or along `axis`, with zero points all 0.
bool IsInt8WeightDq(const Graph& graph, const Node& node, int64_t axis) {
  if (!IsDefaultDomainOp(node, "DequantizeLinear") || node.inputs.size() < 2 || node.inputs.size() > 3) return false;
  if (node.GetInt("block_size", 0) != 0 || node.HasAttribute("output_dtype")) return false;
  const Tensor* w = ConstantOf(graph, node.inputs[0]);
  const Tensor* scale = ConstantOf(graph, node.inputs[1]);
  if (w == nullptr || w->dtype() != DType::kInt8 || axis >= w->rank() || scale == nullptr ||
      scale->dtype() != DType::kFloat32) {
    return false;
  }
  if (scale->element_count() != 1) {
    int64_t dq_axis = node.GetInt("axis", 1);
    if (dq_axis < 0) dq_axis += w->rank();
    if (dq_axis != axis || scale->rank() != 1 || scale->dim(0) != w->dim(static_cast<size_t>(axis))) return false;
  }
  for (int64_t i = 0; i < scale->element_count(); ++i) {
    if (!(scale->data<float>()[i] > 0)) return false;
  }
  if (node.inputs.size() < 3 || node.inputs[2] == kNoValue) return true;
  const Tensor* zp = ConstantOf(graph, node.inputs[2]);
  if (zp == nullptr || zp->dtype() != DType::kInt8 || zp->element_count() != scale->element_count()) return false;
  for (int64_t i = 0; i < zp->element_count(); ++i) {
    if (zp->data<int8_t>()[i] != 0) return false;
  }
  return true;
}

bool IsFloatVector(const Tensor* t, int64_t n) {
  if (t == nullptr || t->dtype() != DType::kFloat32 || t->element_count() != n) return false;
  return t->rank() == 1 || (t->rank() == 2 && t->dim(0) == 1);
}

struct Match {
  int dq_x = -1, dq_w = -1;
  ProductEpilogue e;
  int quantize = -1;  // the QuantizeLinear taken, or -1
};

// The DequantizeLinear node writing `value`, or -1.
int DqProducer(const Graph& graph, const ValueUses& uses, int value, int64_t weight_axis) {
  if (value == kNoValue) return -1;
  const int p = uses.producer[static_cast<size_t>(value)];
  if (p < 0) return -1;
  const Node& node = graph.nodes[static_cast<size_t>(p)];
  const bool ok =
      weight_axis < 0 ? IsPerTensorQdq(graph, node, "DequantizeLinear") : IsInt8WeightDq(graph, node, weight_axis);
  return ok ? p : -1;
}

// The pattern around product node `i` (Conv, MatMul or Gemm), or false.
bool MatchAround(const Graph& graph, const ValueUses& uses, const std::vector<bool>& removed, size_t i, Match& m) {
  const Node& node = graph.nodes[i];
  const bool conv = IsDefaultDomainOp(node, "Conv"), matmul = IsDefaultDomainOp(node, "MatMul");
  const bool gemm = IsDefaultDomainOp(node, "Gemm");
  if (!conv && !matmul && !gemm) return false;
  if (node.inputs.size() < 2 || node.inputs.size() > (matmul ? 2u : 3u)) return false;
  int64_t axis = conv ? 0 : 1;
  if (gemm) {
    if (node.GetInt("transA", 0) != 0 || node.GetFloat("alpha", 1.0f) != 1.0f) return false;
    if (node.inputs.size() == 3 && node.GetFloat("beta", 1.0f) != 1.0f) return false;
    axis = node.GetInt("transB", 0) != 0 ? 0 : 1;
  }
  m.dq_x = DqProducer(graph, uses, node.inputs[0], -1);
  m.dq_w = DqProducer(graph, uses, node.inputs[1], axis);
  if (m.dq_x < 0 || m.dq_w < 0) return false;
  const Tensor& w = *ConstantOf(graph, graph.nodes[static_cast<size_t>(m.dq_w)].inputs[0]);
  if ((conv && w.rank() < 3) || (!conv && w.rank() != 2)) return false;
  const int64_t channels = w.dim(static_cast<size_t>(axis));
  if (node.inputs.size() == 3 && node.inputs[2] != kNoValue) {
    if (!IsFloatVector(ConstantOf(graph, node.inputs[2]), channels)) return false;
    m.e.bias = node.inputs[2];
  }
  MatchProductEpilogue(graph, uses, removed, node, channels, m.e);
  const int q = m.e.addend == kNoValue ? uses.SoleReader(m.e.output) : -1;  // a sum is taken in float32 only
  if (q >= 0 && IsPerTensorQdq(graph, graph.nodes[static_cast<size_t>(q)], "QuantizeLinear") &&
      graph.nodes[static_cast<size_t>(q)].inputs[0] == m.e.output) {
    m.quantize = q;
    m.e.absorbed.push_back(q);
    m.e.output = graph.nodes[static_cast<size_t>(q)].outputs[0];
  }
  return true;
}

void Rewrite(Graph& graph, size_t i, const Match& m) {
  const Node dq_x = graph.nodes[static_cast<size_t>(m.dq_x)];
  const Node dq_w = graph.nodes[static_cast<size_t>(m.dq_w)];
  const auto [y_scale, y_zp] = OutputQuantization(graph, m.quantize);
  Node& node = graph.nodes[i];
  const bool conv = node.op_type == "Conv";
  const int64_t trans_b = node.op_type == "Gemm" ? node.GetInt("transB", 0) : 0;
  node.op_type = conv ? "QuantizedConv" : "QuantizedMatMul";
  node.domain = kTesseraDomain;
  node.opset = kTesseraOpset;
  node.inputs = {dq_x.inputs[0], dq_x.inputs[1], ZeroPointInput(dq_x), dq_w.inputs[0], dq_w.inputs[1], m.e.bias,
                 y_scale,        y_zp};
  if (m.e.addend != kNoValue) node.inputs.push_back(m.e.addend);
  node.explicit_input_count = node.inputs.size();
  node.outputs = {m.e.output};
  if (!conv) {
    node.attributes.clear();
    node.attributes["transB"].type = Attribute::Type::kInt;
    node.attributes["transB"].i = trans_b;
  }
  SetEpilogueAttributes(m.e, node);
}

// A MatMul between two per-tensor DequantizeLinear'd activations, with an optional Div/Mul by a float
// scalar constant (alpha) and QuantizeLinear after it.
struct ActivationMatch {
  int dq_a = -1, dq_b = -1, quantize = -1;
  float alpha = 1;
  std::vector<int> absorbed;
  int output = kNoValue;
};

bool RankFitsActivationMatMul(const Graph& graph, int value) {
  const ValueInfo& info = graph.value(value);
  return !info.has_shape || (info.dims.size() >= 2 && info.dims.size() <= 4);
}

bool MatchActivationMatMul(const Graph& graph, const ValueUses& uses, size_t i, ActivationMatch& m) {
  const Node& node = graph.nodes[i];
  if (!IsDefaultDomainOp(node, "MatMul") || node.inputs.size() != 2) return false;
  m.dq_a = DqProducer(graph, uses, node.inputs[0], -1);
  m.dq_b = DqProducer(graph, uses, node.inputs[1], -1);
  if (m.dq_a < 0 || m.dq_b < 0) return false;
  for (int dq : {m.dq_a, m.dq_b}) {
    if (!RankFitsActivationMatMul(graph, graph.nodes[static_cast<size_t>(dq)].inputs[0])) return false;
  }
  m.output = node.outputs[0];
  const int s = uses.SoleReader(m.output);
  if (s >= 0) {
    const Node& scale = graph.nodes[static_cast<size_t>(s)];
    const bool div = IsOnnxOp(scale, "Div", 2) && scale.inputs[0] == m.output;
    const bool mul = IsOnnxOp(scale, "Mul", 2);
    float c = 0;
    if ((div || mul) && ScalarConstant(graph, uses.producer, OtherInput(scale, m.output), &c) && std::isfinite(c) &&
        c != 0.0f) {
      m.alpha = div ? 1.0f / c : c;
      m.absorbed.push_back(s);
      m.output = scale.outputs[0];
    }
  }
  const int q = uses.SoleReader(m.output);
  if (q >= 0 && IsPerTensorQdq(graph, graph.nodes[static_cast<size_t>(q)], "QuantizeLinear") &&
      graph.nodes[static_cast<size_t>(q)].inputs[0] == m.output) {
    m.quantize = q;
    m.absorbed.push_back(q);
    m.output = graph.nodes[static_cast<size_t>(q)].outputs[0];
  }
  return true;
}

void RewriteActivationMatMul(Graph& graph, size_t i, const ActivationMatch& m) {
  const Node dq_a = graph.nodes[static_cast<size_t>(m.dq_a)];
  const Node dq_b = graph.nodes[static_cast<size_t>(m.dq_b)];
  const auto [y_scale, y_zp] = OutputQuantization(graph, m.quantize);
  Node& node = graph.nodes[i];
  node.op_type = "QuantizedActivationMatMul";
  node.domain = kTesseraDomain;
  node.opset = kTesseraOpset;
  node.inputs = {dq_a.inputs[0], dq_a.inputs[1], ZeroPointInput(dq_a),
                 dq_b.inputs[0], dq_b.inputs[1], ZeroPointInput(dq_b),
                 y_scale,        y_zp};
  node.explicit_input_count = node.inputs.size();
  node.outputs = {m.output};
  node.attributes.clear();
  if (m.alpha != 1.0f) {
    node.attributes["alpha"].type = Attribute::Type::kFloat;
    node.attributes["alpha"].f = m.alpha;
  }
}

// Drops DequantizeLinear nodes that nothing reads any more.
void EraseUnreadDequantize(Graph& graph) {
  const ValueUses uses(graph);
  std::vector<bool> removed(graph.nodes.size(), false);
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& n = graph.nodes[i];
    if (!IsDefaultDomainOp(n, "DequantizeLinear")) continue;
    const int v = n.outputs[0];
    removed[i] = uses.readers[static_cast<size_t>(v)].empty() && !uses.is_graph_output[static_cast<size_t>(v)];
  }
  EraseMarkedNodes(graph, removed);
}

}  // namespace

Status FuseQdq(Graph& graph, int* fused_count) {
  int fused = 0;
  // Before matching: a Q after Reshape/Transpose moves up to the product, which can then take it in.
  const int hoisted = HoistQuantizeAboveDataMovement(graph);
  if (hoisted > 0) TS_RETURN_IF_ERROR(SortTopologically(graph));
  {
    const ValueUses uses(graph);
    std::vector<bool> removed(graph.nodes.size(), false);
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      if (removed[i]) continue;
      auto taken = [&](const std::vector<int>& absorbed) {
        for (int a : absorbed) {
          if (removed[static_cast<size_t>(a)]) return true;
        }
        return false;
      };
      Match m;
      ActivationMatch am;
      if (MatchAround(graph, uses, removed, i, m)) {
        if (taken(m.e.absorbed)) continue;
        Rewrite(graph, i, m);
        for (int a : m.e.absorbed) removed[static_cast<size_t>(a)] = true;
      } else if (MatchActivationMatMul(graph, uses, i, am)) {
        if (taken(am.absorbed)) continue;
        RewriteActivationMatMul(graph, i, am);
        for (int a : am.absorbed) removed[static_cast<size_t>(a)] = true;
      } else {
        continue;
      }
      ++fused;
    }
    EraseMarkedNodes(graph, removed);
    // After the products took their QuantizeLinears: the ones left after a LayerNorm join it.
    fused += FuseLayerNormQuantize(graph);
    if (fused == 0 && hoisted == 0) {
      if (fused_count != nullptr) *fused_count = 0;
      return Status::Ok();
    }
  }
  EraseUnreadDequantize(graph);
  // A residual addend may be computed after the Conv that now reads it (the other branch of the block).
  TS_RETURN_IF_ERROR(SortTopologically(graph));
  KeepQuantizedConvsChannelsLast(graph);
  graph.opsets.emplace(kTesseraDomain, kTesseraOpset);
  if (fused_count != nullptr) *fused_count = fused;
  return Status::Ok();
}

}  // namespace tessera
