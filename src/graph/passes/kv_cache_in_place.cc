// MakeKvCacheInPlace (kv_cache_in_place.h): match every cache pair first, then rewrite them all.
#include "graph/passes/kv_cache_in_place.h"

#include <map>

#include "graph/layout.h"
#include "graph/passes/pattern_match.h"

namespace tessera {
namespace {

int FindByName(const Graph& graph, const std::vector<int>& ids, const std::string& name) {
  for (int id : ids) {
    if (graph.value(id).name == name) return id;
  }
  return kNoValue;
}

// The int64 values of a constant input (initializer or Constant node); empty when not one.
std::vector<int64_t> IntsConstant(const Graph& graph, const ValueUses& uses, int value) {
  const Tensor* t = nullptr;
  if (auto it = graph.constants.find(value); it != graph.constants.end()) {
    t = &it->second;
  } else if (int p = uses.producer[static_cast<size_t>(value)]; p >= 0) {
    const Attribute* a = graph.nodes[static_cast<size_t>(p)].FindAttribute("value");
    if (IsOnnxOp(graph.nodes[static_cast<size_t>(p)], "Constant", 0) && a && a->type == Attribute::Type::kTensor) {
      t = &a->t;
    }
  }
  if (t == nullptr || !t->defined() || t->dtype() != DType::kInt64) return {};
  return std::vector<int64_t>(t->data<int64_t>(), t->data<int64_t>() + t->element_count());
}

// Unsqueeze(x, axes [2]) -> Expand -> Reshape, each the sole reader of the one before: the repeat of
// grouped key heads. Returns the Reshape's node index and fills `chain`, or -1.
int GroupedRepeat(const Graph& graph, const ValueUses& uses, int unsqueeze, std::vector<int>& chain) {
  const Node& u = graph.nodes[static_cast<size_t>(unsqueeze)];
  if (u.op_type != "Unsqueeze" || !u.domain.empty() || u.outputs.size() != 1 || u.HasSubgraphs()) return -1;
  std::vector<int64_t> axes = u.inputs.size() > 1 ? IntsConstant(graph, uses, u.inputs[1]) : u.GetInts("axes");
  if (axes != std::vector<int64_t>{2}) return -1;
  const int expand = uses.SoleReader(u.outputs[0]);
  if (expand < 0 || !IsOnnxOp(graph.nodes[static_cast<size_t>(expand)], "Expand", 2) ||
      graph.nodes[static_cast<size_t>(expand)].inputs[0] != u.outputs[0]) {
    return -1;
  }
  const int reshape = uses.SoleReader(graph.nodes[static_cast<size_t>(expand)].outputs[0]);
  if (reshape < 0 || !IsOnnxOp(graph.nodes[static_cast<size_t>(reshape)], "Reshape", 2) ||
      graph.nodes[static_cast<size_t>(reshape)].inputs[0] != graph.nodes[static_cast<size_t>(expand)].outputs[0]) {
    return -1;
  }
  chain.insert(chain.end(), {unsqueeze, expand, reshape});
  return reshape;
}

struct Attention {
  int k = kNoValue, v = kNoValue;  // the present values it reads as K and V
};

}  // namespace

std::string MakeKvCacheInPlace(Graph& graph, const std::vector<std::pair<std::string, std::string>>& past_present,
                               int64_t capacity) {
  if (past_present.empty()) return "the model has no KV cache";
  const ValueUses uses(graph);
  std::vector<int> concats, removed;
  std::map<int, Attention> attentions;  // FusedAttention node -> its caches
  for (const auto& [past_name, present_name] : past_present) {
    const int past = FindByName(graph, graph.inputs, past_name);
    const int present = FindByName(graph, graph.outputs, present_name);
    if (past == kNoValue || present == kNoValue) {
      return "cache '" + past_name + "' is not a top-level input/output pair";
    }
    const ValueInfo& info = graph.value(past);
    if (info.dtype != DType::kFloat32) return "cache '" + past_name + "' is not float32";
    if (info.has_shape && info.dims.size() != 4) return "cache '" + past_name + "' is not [batch, heads, seq, dim]";
    const auto& past_readers = uses.readers[static_cast<size_t>(past)];
    if (past_readers.size() != 1) return "cache '" + past_name + "' has readers besides its Concat";
    const int concat = past_readers[0];
    const Node& c = graph.nodes[static_cast<size_t>(concat)];
    const int64_t axis = c.GetInt("axis", 0);
    if (!IsOnnxOp(c, "Concat", 2) || c.inputs.size() != 2 || c.inputs[0] != past || c.outputs[0] != present ||
        (axis != 2 && axis != -2)) {
      return "cache '" + past_name + "' does not grow by Concat(past, new) on axis 2 into '" + present_name + "'";
    }
    concats.push_back(concat);
    for (int reader : uses.readers[static_cast<size_t>(present)]) {
      const Node& r = graph.nodes[static_cast<size_t>(reader)];
      if (r.op_type == "Shape" && r.domain.empty()) continue;
      int attention = reader, value_in = present;
      if (r.op_type == "Unsqueeze") {
        const int reshape = GroupedRepeat(graph, uses, reader, removed);
        if (reshape < 0) return "cache '" + present_name + "' feeds an Unsqueeze that is not a grouped-head repeat";
        value_in = graph.nodes[static_cast<size_t>(reshape)].outputs[0];
        attention = uses.SoleReader(value_in);
        if (attention < 0) return "cache '" + present_name + "''s grouped-head repeat has several readers";
      }
      const Node& a = graph.nodes[static_cast<size_t>(attention)];
      if (a.op_type != "FusedAttention" || a.domain != kTesseraDomain || a.GetInt("key_transposed", 1) != 0) {
        return "cache '" + present_name + "' is read by " + a.op_type + " node '" + a.name +
               "' (only Shape and fused attention over untransposed keys are rewritten)";
      }
      Attention& slot = attentions[attention];
      if (a.inputs.size() > 1 && a.inputs[1] == value_in && slot.k == kNoValue) {
        slot.k = present;
      } else if (a.inputs.size() > 2 && a.inputs[2] == value_in && slot.v == kNoValue) {
        slot.v = present;
      } else {
        return "cache '" + present_name + "' is not the K or V input of attention node '" + a.name + "'";
      }
    }
  }
  for (const auto& [node, slot] : attentions) {
    if (slot.k == kNoValue || slot.v == kNoValue) {
      return "attention node '" + graph.nodes[static_cast<size_t>(node)].name +
             "' reads only one of K and V from a cache";
    }
  }
  if (graph.value_ids.count(kKvCacheRowsInput) != 0) {
    return std::string("the graph already has a value named '") + kKvCacheRowsInput + "'";
  }
  const int rows = graph.ValueId(kKvCacheRowsInput);
  ValueInfo& rows_info = graph.values[static_cast<size_t>(rows)];
  rows_info.dtype = DType::kInt64;
  rows_info.has_shape = true;
  rows_info.dims = {Dim{-1, "batch"}, Dim{2, ""}};
  graph.inputs.push_back(rows);
  Attribute cap;
  cap.type = Attribute::Type::kInt;
  cap.i = capacity;
  for (int concat : concats) {
    Node& n = graph.nodes[static_cast<size_t>(concat)];
    n.op_type = "KvCacheAppend";
    n.domain = kTesseraDomain;
    n.opset = 1;
    n.attributes.clear();
    n.attributes["capacity"] = cap;
    n.inputs.push_back(rows);
    n.explicit_input_count = n.inputs.size();
  }
  for (const auto& [node, slot] : attentions) {
    Node& n = graph.nodes[static_cast<size_t>(node)];
    n.op_type = "CachedAttention";
    n.inputs[1] = slot.k;
    n.inputs[2] = slot.v;
    n.attributes.erase("key_transposed");
    n.attributes["capacity"] = cap;
    n.inputs.resize(5, kNoValue);  // condition and mask stay optional
    n.inputs.push_back(rows);
    n.explicit_input_count = n.inputs.size();
  }
  std::vector<bool> erase(graph.nodes.size(), false);
  for (int r : removed) erase[static_cast<size_t>(r)] = true;
  EraseMarkedNodes(graph, erase);
  graph.opsets.emplace(kTesseraDomain, kTesseraOpset);
  return "";
}

}  // namespace tessera
