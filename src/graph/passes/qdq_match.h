// Questions the QDQ passes (qdq_fusion, qdq_hoist) ask of QuantizeLinear/DequantizeLinear nodes.
#pragma once

#include "graph/graph.h"

namespace tessera {

// The defined constant held by `value` (an initializer or a folded value), or nullptr.
inline const Tensor* QdqConstantOf(const Graph& graph, int value) {
  if (value == kNoValue) return nullptr;
  auto it = graph.constants.find(value);
  return it != graph.constants.end() && it->second.defined() ? &it->second : nullptr;
}

// Whether `node` is the default-domain `op` with one output, no subgraph and no implicit inputs.
inline bool IsDefaultDomainOp(const Node& node, const char* op) {
  return (node.domain.empty() || node.domain == "ai.onnx") && node.op_type == op && node.outputs.size() == 1 &&
         node.outputs[0] != kNoValue && !node.HasSubgraphs() && node.explicit_input_count == node.inputs.size();
}

// A QuantizeLinear or DequantizeLinear (`op`) with a scalar constant scale > 0 and an optional scalar
// uint8/int8 constant zero point (blocked quantization, opset 21, is left alone).
inline bool IsPerTensorQdq(const Graph& graph, const Node& node, const char* op) {
  if (!IsDefaultDomainOp(node, op) || node.inputs.size() < 2 || node.inputs.size() > 3) return false;
  if (node.GetInt("block_size", 0) != 0 || node.HasAttribute("output_dtype")) return false;
  const Tensor* scale = QdqConstantOf(graph, node.inputs[1]);
  if (scale == nullptr || scale->dtype() != DType::kFloat32 || scale->element_count() != 1) return false;
  if (!(scale->data<float>()[0] > 0)) return false;
  if (node.inputs.size() < 3 || node.inputs[2] == kNoValue) return true;
  const Tensor* zp = QdqConstantOf(graph, node.inputs[2]);
  return zp != nullptr && zp->element_count() == 1 && (zp->dtype() == DType::kUInt8 || zp->dtype() == DType::kInt8);
}

// The integer type a per-tensor QuantizeLinear writes: its zero point's, uint8 without one.
inline DType QuantizedTypeOf(const Graph& graph, const Node& quantize) {
  const Tensor* zp = quantize.inputs.size() > 2 ? QdqConstantOf(graph, quantize.inputs[2]) : nullptr;
  return zp != nullptr ? zp->dtype() : DType::kUInt8;
}

}  // namespace tessera
