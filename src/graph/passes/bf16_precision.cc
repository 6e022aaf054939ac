// ConvertProductsToBf16: matching float products with constant weights, then an in-place rewrite.
#include "graph/passes/bf16_precision.h"

#include "graph/layout.h"
#include "graph/passes/product_epilogue.h"

namespace tessera {
namespace {

const Tensor* FloatConstant(const Graph& graph, int value) {
  if (value == kNoValue) return nullptr;
  auto it = graph.constants.find(value);
  if (it == graph.constants.end() || !it->second.defined() || it->second.dtype() != DType::kFloat32) return nullptr;
  return &it->second;
}

bool IsPlainOp(const Node& n, const char* op) {
  return (n.domain.empty() || n.domain == "ai.onnx") && n.op_type == op && n.outputs.size() == 1 &&
         n.outputs[0] != kNoValue && !n.HasSubgraphs() && n.explicit_input_count == n.inputs.size();
}

// The output channel count of product `n` when it can run in bfloat16, else -1.
int64_t Bf16Channels(const Graph& graph, const Node& n) {
  const bool conv = IsPlainOp(n, "Conv"), matmul = IsPlainOp(n, "MatMul"), gemm = IsPlainOp(n, "Gemm");
  if ((!conv && !matmul && !gemm) || n.inputs.size() < 2 || n.inputs.size() > (matmul ? 2u : 3u)) return -1;
  if (n.inputs[0] == kNoValue || graph.value(n.inputs[0]).dtype != DType::kFloat32) return -1;
  const Tensor* w = FloatConstant(graph, n.inputs[1]);
  if (w == nullptr || (conv && w->rank() < 3) || (!conv && w->rank() != 2) || w->element_count() == 0) return -1;
  int64_t axis = conv ? 0 : 1;
  if (gemm) {
    if (n.GetInt("transA", 0) != 0 || n.GetFloat("alpha", 1.0f) != 1.0f) return -1;
    if (n.inputs.size() == 3 && n.GetFloat("beta", 1.0f) != 1.0f) return -1;
    axis = n.GetInt("transB", 0) != 0 ? 0 : 1;
  }
  const int64_t channels = w->dim(static_cast<size_t>(axis));
  if (n.inputs.size() == 3 && n.inputs[2] != kNoValue) {
    const Tensor* b = FloatConstant(graph, n.inputs[2]);
    if (b == nullptr || b->element_count() != channels || b->rank() > 2) return -1;
  }
  return channels;
}

}  // namespace

Status ConvertProductsToBf16(Graph& graph, int* converted) {
  int count = 0;
  {
    const ValueUses uses(graph);
    std::vector<bool> removed(graph.nodes.size(), false);
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
      if (removed[i]) continue;
      const int64_t channels = Bf16Channels(graph, graph.nodes[i]);
      if (channels < 0) continue;
      ProductEpilogue e;
      const Node& node = graph.nodes[i];
      if (node.inputs.size() == 3) e.bias = node.inputs[2];
      MatchProductEpilogue(graph, uses, removed, node, channels, e);
      bool free = true;
      for (int a : e.absorbed) free = free && !removed[static_cast<size_t>(a)];
      if (!free) continue;
      Node& n = graph.nodes[i];
      const bool conv = n.op_type == "Conv";
      const int64_t trans_b = n.op_type == "Gemm" ? n.GetInt("transB", 0) : 0;
      n.op_type = conv ? "Bf16Conv" : "Bf16MatMul";
      n.domain = kTesseraDomain;
      n.opset = kTesseraOpset;
      n.inputs = {n.inputs[0], n.inputs[1], e.bias};
      if (e.addend != kNoValue) n.inputs.push_back(e.addend);
      n.explicit_input_count = n.inputs.size();
      n.outputs = {e.output};
      if (!conv) {
        n.attributes.clear();
        n.attributes["transB"].type = Attribute::Type::kInt;
        n.attributes["transB"].i = trans_b;
      }
      SetEpilogueAttributes(e, n);
      for (int a : e.absorbed) removed[static_cast<size_t>(a)] = true;
      ++count;
    }
    if (count > 0) EraseMarkedNodes(graph, removed);
  }
  if (count > 0) {
    TS_RETURN_IF_ERROR(SortTopologically(graph));  // a residual addend may come from a later branch
    graph.opsets.emplace(kTesseraDomain, kTesseraOpset);
  }
  if (converted != nullptr) *converted = count;
  return Status::Ok();
}

}  // namespace tessera
