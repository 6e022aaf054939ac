// FuseMatMulBiasActivation: pattern matching over reader lists, then an in-place rewrite (see the header).
#include "graph/passes/transformer_fusion.h"
#include "graph/layout.h"
#include "graph/passes/pattern_match.h"

#include <cmath>
#include <string>
#include <vector>

namespace tessera {
namespace {

// The input of binary `node` that is not `value`, or kNoValue when both are `value`.
int OtherInput(const Node& node, int value) {
  if (node.inputs[0] == value && node.inputs[1] != value) return node.inputs[1];
  if (node.inputs[1] == value && node.inputs[0] != value) return node.inputs[0];
  return kNoValue;
}

bool Near(float v, double want) { return std::fabs(static_cast<double>(v) - want) <= 1e-5 * std::fabs(want); }

// Binary `op` node reading `value` with a scalar constant equal to `want` as its other input.
bool IsScalarOp(const Graph& graph, const ValueUses& uses, int node, const char* op, int value, double want) {
  if (node < 0) return false;
  const Node& n = graph.nodes[static_cast<size_t>(node)];
  if (!IsOnnxOp(n, op, 2)) return false;
  if (std::string(op) == "Div" && n.inputs[0] != value) return false;  // Div is not commutative
  const int other = OtherInput(n, value);
  float v = 0;
  return other != kNoValue && ScalarConstant(graph, uses.producer, other, &v) && Near(v, want);
}

// Matches GELU (erf form) reading `x`; on success appends its nodes to `nodes` and sets `*result`.
bool MatchGeluErf(const Graph& graph, const ValueUses& uses, int x, std::vector<int>* nodes, int* result) {
  const auto& readers = uses.readers[static_cast<size_t>(x)];
  if (uses.is_graph_output[static_cast<size_t>(x)] || readers.size() != 2 || readers[0] == readers[1]) return false;
  const auto out = [&](int node) { return graph.nodes[static_cast<size_t>(node)].outputs[0]; };
  for (int pick = 0; pick < 2; ++pick) {
    const int scale = readers[static_cast<size_t>(pick)], mul1 = readers[static_cast<size_t>(1 - pick)];
    if (!IsScalarOp(graph, uses, scale, "Div", x, std::sqrt(2.0)) &&
        !IsScalarOp(graph, uses, scale, "Mul", x, 1.0 / std::sqrt(2.0))) {
      continue;
    }
    const int erf = uses.SoleReader(out(scale));
    if (erf < 0 || !IsOnnxOp(graph.nodes[static_cast<size_t>(erf)], "Erf", 1)) return false;
    const int plus_one = uses.SoleReader(out(erf));
    if (!IsScalarOp(graph, uses, plus_one, "Add", out(erf), 1.0)) return false;
    const int erf_part = out(plus_one);
    const Node& m1 = graph.nodes[static_cast<size_t>(mul1)];
    if (!IsOnnxOp(m1, "Mul", 2)) return false;
    const int mul2 = uses.SoleReader(out(mul1));
    if (mul2 < 0 || !IsOnnxOp(graph.nodes[static_cast<size_t>(mul2)], "Mul", 2)) return false;
    if (OtherInput(m1, x) == erf_part) {
      // x * (1 + erf) then * 0.5
      if (uses.SoleReader(erf_part) != mul1 || !IsScalarOp(graph, uses, mul2, "Mul", out(mul1), 0.5)) return false;
    } else if (IsScalarOp(graph, uses, mul1, "Mul", x, 0.5)) {
      // x * 0.5 then * (1 + erf)
      if (uses.SoleReader(erf_part) != mul2 || OtherInput(graph.nodes[static_cast<size_t>(mul2)], out(mul1)) != erf_part) {
        return false;
      }
    } else {
      return false;
    }
    nodes->insert(nodes->end(), {scale, erf, plus_one, mul1, mul2});
    *result = out(mul2);
    return true;
  }
  return false;
}

// `value` itself when it is an initializer, the initializer behind it when an Identity node copies one
// (PyTorch exports shared weights that way), else kNoValue.
int ConstantSource(const Graph& graph, const ValueUses& uses, int value) {
  if (value == kNoValue || graph.IsConstant(value)) return value;
  const int p = uses.producer[static_cast<size_t>(value)];
  if (p < 0 || !IsOnnxOp(graph.nodes[static_cast<size_t>(p)], "Identity", 1)) return kNoValue;
  const int source = graph.nodes[static_cast<size_t>(p)].inputs[0];
  return source != kNoValue && graph.IsConstant(source) ? source : kNoValue;
}

bool IsFloatConstant(const Graph& graph, int value, size_t rank) {
  auto it = graph.constants.find(value);
  return it != graph.constants.end() && it->second.defined() && it->second.dtype() == DType::kFloat32 &&
         static_cast<size_t>(it->second.rank()) == rank;
}

}  // namespace

Status FuseMatMulBiasActivation(Graph& graph, int* fused_count) {
  const ValueUses uses(graph);
  std::vector<bool> removed(graph.nodes.size(), false);
  int fused = 0;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& matmul = graph.nodes[i];
    if (removed[i] || !IsOnnxOp(matmul, "MatMul", 2)) continue;
    const int a = matmul.inputs[0], w = ConstantSource(graph, uses, matmul.inputs[1]), y = matmul.outputs[0];
    if (a == kNoValue || w == kNoValue || y == kNoValue || !IsFloatConstant(graph, w, 2)) continue;
    const Tensor& weight = graph.constants.at(w);
    if (weight.element_count() == 0) continue;
    const int add = uses.SoleReader(y);
    if (add < 0 || !IsOnnxOp(graph.nodes[static_cast<size_t>(add)], "Add", 2)) continue;
    const int bias = ConstantSource(graph, uses, OtherInput(graph.nodes[static_cast<size_t>(add)], y));
    if (bias == kNoValue || !IsFloatConstant(graph, bias, 1) || graph.constants.at(bias).dim(0) != weight.dim(1)) {
      continue;
    }
    std::vector<int> chain{add};
    int result = graph.nodes[static_cast<size_t>(add)].outputs[0];
    std::string activation;
    if (result != kNoValue && MatchGeluErf(graph, uses, result, &chain, &result)) activation = "gelu_erf";
    if (result == kNoValue) continue;

    Node& node = graph.nodes[i];
    node.op_type = "FusedMatMul";
    node.domain = kTesseraDomain;
    node.opset = 1;
    node.inputs = {a, w, bias};
    node.explicit_input_count = 3;
    node.outputs = {result};
    node.attributes.clear();
    Attribute act;
    act.type = Attribute::Type::kString;
    act.s = activation;
    node.attributes["activation"] = act;
    for (int c : chain) removed[static_cast<size_t>(c)] = true;
    ++fused;
  }
  if (fused > 0) {
    EraseMarkedNodes(graph, removed);
    graph.opsets.emplace(kTesseraDomain, kTesseraOpset);
  }
  if (fused_count != nullptr) *fused_count = fused;
  return Status::Ok();
}

}  // namespace tessera
