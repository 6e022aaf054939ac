// FuseMatMulBiasActivation: pattern matching over reader lists, then an in-place rewrite (see the header).
#include "graph/passes/transformer_fusion.h"
#include "graph/layout.h"
#include "graph/passes/gelu_match.h"
#include "graph/passes/pattern_match.h"

#include <cmath>
#include <string>
#include <vector>

namespace tessera {
namespace {

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
