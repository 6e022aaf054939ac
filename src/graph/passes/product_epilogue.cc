// MatchProductEpilogue: the bias Add, residual Add and activation after a product (see the header).
#include "graph/passes/product_epilogue.h"

#include "graph/passes/gelu_match.h"

namespace tessera {
namespace {

bool IsDefaultDomainOp(const Node& node, const char* op) {
  return (node.domain.empty() || node.domain == "ai.onnx") && node.op_type == op && node.outputs.size() == 1 &&
         node.outputs[0] != kNoValue && !node.HasSubgraphs() && node.explicit_input_count == node.inputs.size();
}

// The Relu, Clip (constant bounds) or GELU (erf form) reading `value` alone, filling `m`; false when there
// is none.
bool MatchActivation(const Graph& graph, const ValueUses& uses, int value, ProductEpilogue& m) {
  int gelu_out = kNoValue;
  if (MatchGeluErf(graph, uses, value, &m.absorbed, &gelu_out)) {
    m.activation = "GeluErf";
    m.output = gelu_out;
    return true;
  }
  const int r = uses.SoleReader(value);
  if (r < 0) return false;
  const Node& node = graph.nodes[static_cast<size_t>(r)];
  if (IsDefaultDomainOp(node, "Relu") && node.inputs.size() == 1) {
    m.activation = "Relu";
  } else if (IsDefaultDomainOp(node, "Clip") && node.inputs[0] == value) {
    if (node.opset < 11) {
      m.clip_min = node.GetFloat("min", -FLT_MAX);
      m.clip_max = node.GetFloat("max", FLT_MAX);
    } else {
      for (size_t i = 1; i < node.inputs.size(); ++i) {
        if (node.inputs[i] == kNoValue) continue;
        float v = 0;
        if (!ScalarConstant(graph, uses.producer, node.inputs[i], &v)) return false;
        (i == 1 ? m.clip_min : m.clip_max) = v;
      }
    }
    if (!(m.clip_min <= m.clip_max)) return false;
    m.activation = "Clip";
  } else {
    return false;
  }
  m.absorbed.push_back(r);
  m.output = node.outputs[0];
  return true;
}

bool SameFloatShape(const Graph& graph, int a, int b) {
  return graph.value(a).dtype == DType::kFloat32 && graph.value(b).dtype == DType::kFloat32 &&
         SameDeclaredShape(graph, a, b);
}

// An Add of the Conv's output and another float32 value of the same declared shape (a residual sum),
// reading the output alone: the other value becomes the addend Z.
void MatchResidualAdd(const Graph& graph, const ValueUses& uses, const std::vector<bool>& removed, ProductEpilogue& m) {
  const int r = uses.SoleReader(m.output);
  if (r < 0 || removed[static_cast<size_t>(r)]) return;  // the other branch's Conv took this Add already
  const Node& add = graph.nodes[static_cast<size_t>(r)];
  if (!IsDefaultDomainOp(add, "Add") || add.inputs.size() != 2) return;
  const int other = OtherInput(add, m.output);
  if (other == kNoValue || graph.IsConstant(other) || !SameFloatShape(graph, m.output, other) ||
      !SameFloatShape(graph, m.output, add.outputs[0])) {
    return;
  }
  m.addend = other;
  m.absorbed.push_back(r);
  m.output = add.outputs[0];
}

// A MatMul/Gemm's bias Add: the output plus a constant float32 [channels] vector, reading it alone.
void MatchBiasAdd(const Graph& graph, const ValueUses& uses, int64_t channels, ProductEpilogue& m) {
  const int r = uses.SoleReader(m.output);
  if (r < 0) return;
  const Node& add = graph.nodes[static_cast<size_t>(r)];
  if (!IsDefaultDomainOp(add, "Add") || add.inputs.size() != 2) return;
  const int other = OtherInput(add, m.output);
  auto it = other == kNoValue ? graph.constants.end() : graph.constants.find(other);
  if (it == graph.constants.end() || !it->second.defined() || it->second.dtype() != DType::kFloat32 ||
      it->second.rank() != 1 || it->second.dim(0) != channels) {
    return;
  }
  m.bias = other;
  m.absorbed.push_back(r);
  m.output = add.outputs[0];
}

}  // namespace

void MatchProductEpilogue(const Graph& graph, const ValueUses& uses, const std::vector<bool>& removed, const Node& node,
                          int64_t channels, ProductEpilogue& e) {
  e.output = node.outputs[0];
  const bool conv = node.op_type == "Conv";
  if (!conv && e.bias == kNoValue) MatchBiasAdd(graph, uses, channels, e);
  if (conv) MatchResidualAdd(graph, uses, removed, e);
  MatchActivation(graph, uses, e.output, e);
}

void SetEpilogueAttributes(const ProductEpilogue& e, Node& node) {
  if (!e.activation.empty()) {
    node.attributes["activation"].type = Attribute::Type::kString;
    node.attributes["activation"].s = e.activation;
  }
  if (e.activation == "Clip") {
    node.attributes["activation_min"].type = Attribute::Type::kFloat;
    node.attributes["activation_min"].f = e.clip_min;
    node.attributes["activation_max"].type = Attribute::Type::kFloat;
    node.attributes["activation_max"].f = e.clip_max;
  }
}

}  // namespace tessera
