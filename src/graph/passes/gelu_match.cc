// MatchGeluErf: the erf form of GELU as PyTorch exports it (see gelu_match.h).
#include "graph/passes/gelu_match.h"

#include <cmath>
#include <string>

namespace tessera {
namespace {

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

}  // namespace

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
      if (uses.SoleReader(erf_part) != mul2 ||
          OtherInput(graph.nodes[static_cast<size_t>(mul2)], out(mul1)) != erf_part) {
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

}  // namespace tessera
