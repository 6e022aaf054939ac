// FuseAttention: walks back from each Softmax over reader lists, then rewrites in place (see the header).
#include "graph/passes/attention_fusion.h"
#include "graph/layout.h"
#include "graph/passes/pattern_match.h"

#include <string>
#include <vector>

namespace tessera {
namespace {

// A Where fill at or below this gives exp(fill - max) == 0 in float32 for any score of a real model, so
// replacing the masked score by fill or dropping the key is the same softmax.
constexpr float kMaskedFillLimit = -1e4f;

// The node producing `value` when it is an ONNX `op` with `inputs` inputs whose only reader is `reader`.
int ProducerFor(const Graph& graph, const ValueUses& readers, int value, const char* op, size_t inputs, int reader) {
  if (value == kNoValue || readers.SoleReader(value) != reader) return -1;
  const int p = readers.producer[static_cast<size_t>(value)];
  return p >= 0 && IsOnnxOp(graph.nodes[static_cast<size_t>(p)], op, inputs) ? p : -1;
}

// Exporters' reshapes often leave ranks unknown to shape inference: an operand of unknown rank is taken
// (the kernel accepts ranks 2 to 4, which is every attention layout), one known to be outside is not.
bool AttentionOperand(const Graph& graph, int value, DType* dtype) {
  if (value == kNoValue) return false;
  const ValueInfo& info = graph.value(value);
  if (info.has_shape && (info.dims.size() < 2 || info.dims.size() > 4)) return false;
  if (info.dtype != DType::kFloat32 && info.dtype != DType::kFloat16) return false;
  if (*dtype != DType::kUndefined && *dtype != info.dtype) return false;
  *dtype = info.dtype;
  return true;
}

bool SoftmaxOverLastAxis(const Node& softmax) {
  const Attribute* axis = softmax.FindAttribute("axis");
  if (axis == nullptr) return softmax.opset >= 13;
  return axis->type == Attribute::Type::kInt && axis->i == -1;
}

struct Match {
  std::vector<int> removed;  // nodes folded into the final MatMul
  int q = kNoValue, kt = kNoValue, v = kNoValue, cond = kNoValue, mask = kNoValue;
  float scale = 1.0f;
  bool key_transposed = true;  // kt is K^T; false: the Transpose making it was absorbed and kt is K
};

// Matches the chain ending in MatMul node `out` (see the header).
bool MatchAttention(const Graph& graph, const ValueUses& readers, int out, Match* m) {
  const Node& pv = graph.nodes[static_cast<size_t>(out)];
  if (!IsOnnxOp(pv, "MatMul", 2)) return false;
  const int softmax = ProducerFor(graph, readers, pv.inputs[0], "Softmax", 1, out);
  if (softmax < 0 || !SoftmaxOverLastAxis(graph.nodes[static_cast<size_t>(softmax)])) return false;
  m->removed = {softmax};
  m->v = pv.inputs[1];
  int x = graph.nodes[static_cast<size_t>(softmax)].inputs[0], reader = softmax;
  if (int add = ProducerFor(graph, readers, x, "Add", 2, reader); add >= 0) {
    const Node& n = graph.nodes[static_cast<size_t>(add)];
    // The scores are the operand produced by the chain below; the other is the mask.
    const int prev = readers.producer[static_cast<size_t>(n.inputs[0])];
    const bool scores_first = prev >= 0 && (graph.nodes[static_cast<size_t>(prev)].op_type == "Where" ||
                                            graph.nodes[static_cast<size_t>(prev)].op_type == "Div" ||
                                            graph.nodes[static_cast<size_t>(prev)].op_type == "Mul" ||
                                            graph.nodes[static_cast<size_t>(prev)].op_type == "MatMul");
    m->mask = n.inputs[scores_first ? 1 : 0];
    x = n.inputs[scores_first ? 0 : 1];
    m->removed.push_back(add);
    reader = add;
  }
  if (int where = ProducerFor(graph, readers, x, "Where", 3, reader); where >= 0) {
    const Node& n = graph.nodes[static_cast<size_t>(where)];
    float fill = 0;
    if (!ScalarConstant(graph, readers.producer, n.inputs[2], &fill) || !(fill <= kMaskedFillLimit)) return false;
    m->cond = n.inputs[0];
    x = n.inputs[1];
    m->removed.push_back(where);
    reader = where;
  }
  for (const char* op : {"Div", "Mul"}) {
    const int s = ProducerFor(graph, readers, x, op, 2, reader);
    if (s < 0) continue;
    const Node& n = graph.nodes[static_cast<size_t>(s)];
    float c = 0;
    const bool div = op[0] == 'D';
    int scores = kNoValue;
    if (ScalarConstant(graph, readers.producer, n.inputs[1], &c))
      scores = n.inputs[0];
    else if (!div && ScalarConstant(graph, readers.producer, n.inputs[0], &c))
      scores = n.inputs[1];
    if (scores == kNoValue || c == 0.0f) return false;
    m->scale = div ? 1.0f / c : c;
    x = scores;
    m->removed.push_back(s);
    reader = s;
    break;
  }
  const int qk = ProducerFor(graph, readers, x, "MatMul", 2, reader);
  if (qk < 0) return false;
  m->removed.push_back(qk);
  m->q = graph.nodes[static_cast<size_t>(qk)].inputs[0];
  m->kt = graph.nodes[static_cast<size_t>(qk)].inputs[1];
  // K^T made by a Transpose of the last two dims for this MatMul alone: the node reads K itself.
  if (int t = ProducerFor(graph, readers, m->kt, "Transpose", 1, qk); t >= 0) {
    const std::vector<int64_t> perm = graph.nodes[static_cast<size_t>(t)].GetInts("perm");
    const std::vector<int64_t> swap4{0, 1, 3, 2}, swap3{0, 2, 1};
    const int k = graph.nodes[static_cast<size_t>(t)].inputs[0];
    DType kd = DType::kUndefined;
    if ((perm == swap4 || perm == swap3) && AttentionOperand(graph, k, &kd) &&
        (!graph.value(k).has_shape || graph.value(k).dims.size() == perm.size())) {
      m->removed.push_back(t);
      m->kt = k;
      m->key_transposed = false;
    }
  }
  DType dtype = DType::kUndefined;
  if (!AttentionOperand(graph, m->q, &dtype) || !AttentionOperand(graph, m->kt, &dtype) ||
      !AttentionOperand(graph, m->v, &dtype)) {
    return false;
  }
  // The kernel broadcasts cond and mask against [B, H, S, L]: ranks above 4 stay unfused.
  // A cond or mask of higher rank than Q would broadcast the unfused scores to more dims than the fused
  // node's output has.
  const ValueInfo& q_info = graph.value(m->q);
  const auto fits = [&](int value) {
    const ValueInfo& info = graph.value(value);
    if (!info.has_shape) return true;
    return info.dims.size() <= 4 && (!q_info.has_shape || info.dims.size() <= q_info.dims.size());
  };
  if (m->cond != kNoValue && (graph.value(m->cond).dtype != DType::kBool || !fits(m->cond))) return false;
  return m->mask == kNoValue || (graph.value(m->mask).dtype == dtype && fits(m->mask));
}

}  // namespace

Status FuseAttention(Graph& graph, int* fused_count) {
  const ValueUses readers(graph);
  std::vector<bool> removed(graph.nodes.size(), false);
  int fused = 0;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    Match m;
    if (removed[i] || !MatchAttention(graph, readers, static_cast<int>(i), &m)) continue;
    bool taken = false;
    for (int r : m.removed) taken |= removed[static_cast<size_t>(r)];
    if (taken) continue;
    Node& node = graph.nodes[i];
    node.op_type = "FusedAttention";
    node.domain = kTesseraDomain;
    node.opset = 1;
    node.inputs = {m.q, m.kt, m.v, m.cond, m.mask};
    while (node.inputs.back() == kNoValue) node.inputs.pop_back();
    node.explicit_input_count = node.inputs.size();
    node.attributes.clear();
    Attribute scale;
    scale.type = Attribute::Type::kFloat;
    scale.f = m.scale;
    node.attributes["scale"] = scale;
    if (!m.key_transposed) {
      Attribute key_transposed;
      key_transposed.type = Attribute::Type::kInt;
      key_transposed.i = 0;
      node.attributes["key_transposed"] = key_transposed;
    }
    for (int r : m.removed) removed[static_cast<size_t>(r)] = true;
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
