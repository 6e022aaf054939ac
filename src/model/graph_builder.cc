// Builds the IR graph from a GraphProto: values, initializers, nodes, attributes and subgraph captures.
#include "model/graph_builder.h"

#include "model/node_schema_check.h"
#include "model/tensor_proto.h"

namespace tessera {

namespace {

constexpr int kMaxSubgraphDepth = 32;

void ApplyTensorType(const onnx::TypeProto::Tensor& tt, ValueInfo& value) {
  if (IsKnownDType(tt.elem_type())) value.dtype = static_cast<DType>(tt.elem_type());
  if (!tt.has_shape()) return;
  value.has_shape = true;
  value.dims.clear();
  for (const auto& d : tt.shape().dim()) {
    Dim dim;
    if (d.has_dim_value() && d.dim_value() >= 0) dim.value = d.dim_value();
    if (d.has_dim_param()) dim.symbol = d.dim_param();
    value.dims.push_back(dim);
  }
}

// map(K, V): the key dtype and V's element dtype (V is a tensor type, or seq(map) nesting for ZipMap-like
// values is not declared by any ONNX op, so only tensor V is read).
void ApplyMapType(const onnx::TypeProto::Map& map, ValueInfo& value) {
  value.kind = Value::Kind::kMap;
  if (IsKnownDType(map.key_type())) value.map_key_dtype = static_cast<DType>(map.key_type());
  if (map.value_type().has_tensor_type()) ApplyTensorType(map.value_type().tensor_type(), value);
  value.has_shape = false;
  value.dims.clear();
}

// Tensor, sequence (of tensors or maps), map and optional types; a sequence's element type describes it.
void ApplyType(const onnx::TypeProto& type, ValueInfo& value) {
  if (type.has_tensor_type()) {
    value.kind = Value::Kind::kTensor;
    ApplyTensorType(type.tensor_type(), value);
  } else if (type.has_sequence_type()) {
    value.kind = Value::Kind::kSequence;
    const auto& element = type.sequence_type().elem_type();
    if (element.has_tensor_type()) ApplyTensorType(element.tensor_type(), value);
    if (element.has_map_type()) {
      ApplyMapType(element.map_type(), value);
      value.kind = Value::Kind::kSequence;
    }
  } else if (type.has_map_type()) {
    ApplyMapType(type.map_type(), value);
  } else if (type.has_optional_type()) {
    ApplyType(type.optional_type().elem_type(), value);
    value.optional = true;
  }
}

void ApplyTypeInfo(const onnx::ValueInfoProto& info, ValueInfo& value) {
  if (info.has_type()) ApplyType(info.type(), value);
}

Status ConvertAttribute(onnx::AttributeProto& proto, const Node& node, const OuterScope& scope,
                        GraphBuildContext& context, Attribute& attr);

Status ConvertSubgraph(onnx::GraphProto& proto, const Node& node, const OuterScope& scope,
                       GraphBuildContext& context, std::shared_ptr<Graph>& out) {
  if (context.depth >= kMaxSubgraphDepth) return InvalidArgument(node.Describe() + ": subgraphs nested too deeply");
  out = std::make_shared<Graph>();
  ++context.depth;
  Status s = BuildGraph(proto, &scope, context, *out);
  --context.depth;
  return s.WithContext(node.Describe() + " subgraph '" + proto.name() + "'");
}

Status ConvertAttribute(onnx::AttributeProto& proto, const Node& node, const OuterScope& scope,
                        GraphBuildContext& context, Attribute& attr) {
  using T = Attribute::Type;
  switch (proto.type()) {
    case onnx::AttributeProto::FLOAT: attr.type = T::kFloat; attr.f = proto.f(); break;
    case onnx::AttributeProto::INT: attr.type = T::kInt; attr.i = proto.i(); break;
    case onnx::AttributeProto::STRING: attr.type = T::kString; attr.s = proto.s(); break;
    case onnx::AttributeProto::FLOATS:
      attr.type = T::kFloats;
      attr.floats.assign(proto.floats().begin(), proto.floats().end());
      break;
    case onnx::AttributeProto::INTS:
      attr.type = T::kInts;
      attr.ints.assign(proto.ints().begin(), proto.ints().end());
      break;
    case onnx::AttributeProto::STRINGS:
      attr.type = T::kStrings;
      attr.strings.assign(proto.strings().begin(), proto.strings().end());
      break;
    case onnx::AttributeProto::TENSOR: {
      attr.type = T::kTensor;
      auto t = TakeTensorFromProto(*proto.mutable_t(), context.resolver);
      if (!t.ok()) return t.status().WithContext(node.Describe() + " attribute '" + proto.name() + "'");
      attr.t = std::move(t).value();
      break;
    }
    case onnx::AttributeProto::TENSORS:
      attr.type = T::kTensors;
      for (auto& tp : *proto.mutable_tensors()) {
        auto t = TakeTensorFromProto(tp, context.resolver);
        if (!t.ok()) return t.status().WithContext(node.Describe() + " attribute '" + proto.name() + "'");
        attr.tensors.push_back(std::move(t).value());
      }
      break;
    case onnx::AttributeProto::GRAPH:
      attr.type = T::kGraph;
      return ConvertSubgraph(*proto.mutable_g(), node, scope, context, attr.g);
    case onnx::AttributeProto::GRAPHS:
      attr.type = T::kGraphs;
      for (auto& gp : *proto.mutable_graphs()) {
        std::shared_ptr<Graph> g;
        TS_RETURN_IF_ERROR(ConvertSubgraph(gp, node, scope, context, g));
        attr.graphs.push_back(std::move(g));
      }
      break;
    default:
      // Sparse tensors and type protos are kept undefined; kernels that need them report it.
      attr.type = T::kUndefined;
      break;
  }
  return Status::Ok();
}

// Adds the values a subgraph reads from this graph's scope (directly or for its own subgraphs) as
// implicit inputs of `node`.
void AddImplicitInputs(const Graph& sub, Graph& graph, Node& node) {
  for (int outer_id : sub.outer_values) {
    int id = graph.ValueId(sub.value(outer_id).name);
    bool present = false;
    for (size_t i = node.explicit_input_count; i < node.inputs.size(); ++i) present |= node.inputs[i] == id;
    if (!present) node.inputs.push_back(id);
  }
}

}  // namespace

Status BuildGraph(onnx::GraphProto& proto, const OuterScope* outer, GraphBuildContext& context, Graph& graph) {
  graph.name = proto.name();
  graph.opsets = context.opsets;

  // Every name this graph defines, so subgraphs can tell captures from their own values.
  std::unordered_set<std::string> defined;
  for (const auto& init : proto.initializer()) defined.insert(init.name());
  for (const auto& in : proto.input()) defined.insert(in.name());
  for (const auto& n : proto.node()) {
    for (const auto& o : n.output()) {
      if (!o.empty()) defined.insert(o);
    }
  }
  OuterScope scope{&defined, outer};

  for (auto& init : *proto.mutable_initializer()) {
    if (init.name().empty()) return InvalidArgument("an initializer has no name");
    int id = graph.ValueId(init.name());
    if (graph.constants.count(id)) return InvalidArgument("initializer '" + init.name() + "' is defined twice");
    auto t = TakeTensorFromProto(init, context.resolver);
    if (!t.ok()) return t.status().WithContext("initializer '" + init.name() + "'");
    ValueInfo& v = graph.values[static_cast<size_t>(id)];
    v.dtype = t->dtype();
    v.has_shape = true;
    for (int64_t d : t->shape()) v.dims.push_back(Dim{d, ""});
    graph.constants.emplace(id, std::move(t).value());
  }
  for (const auto& in : proto.input()) {
    int id = graph.ValueId(in.name());
    if (!graph.constants.count(id)) {  // IR < 4 lists initializers among the inputs too
      ApplyTypeInfo(in, graph.values[static_cast<size_t>(id)]);
      graph.inputs.push_back(id);
    }
  }
  for (const auto& info : proto.value_info()) {
    auto it = graph.value_ids.find(info.name());
    int id = it != graph.value_ids.end() ? it->second : graph.ValueId(info.name());
    if (!graph.constants.count(id)) ApplyTypeInfo(info, graph.values[static_cast<size_t>(id)]);
  }

  std::unordered_set<int> produced;
  for (int id : graph.inputs) produced.insert(id);
  for (const auto& [id, t] : graph.constants) produced.insert(id);

  graph.nodes.reserve(static_cast<size_t>(proto.node_size()));
  for (int index = 0; index < proto.node_size(); ++index) {
    auto& np = *proto.mutable_node(index);
    Node node;
    node.op_type = np.op_type();
    node.domain = np.domain() == "ai.onnx" ? "" : np.domain();
    node.name = np.name().empty() ? np.op_type() + "_" + std::to_string(index) : np.name();
    auto opset = context.opsets.find(node.domain);
    if (opset == context.opsets.end()) {
      return InvalidArgument(node.Describe() + ": the model imports no opset for domain '" + node.domain + "'");
    }
    node.opset = opset->second;
    if (Status s = CheckNodeAgainstSchema(np, node.domain, node.opset); !s.ok()) return s.WithContext(node.Describe());
    for (const auto& name : np.input()) {
      if (name.empty()) {
        node.inputs.push_back(kNoValue);
        continue;
      }
      bool local = defined.count(name) != 0;
      if (!local && !(outer && outer->Contains(name))) {
        return InvalidArgument(node.Describe() + ": input '" + name +
                               "' is not produced by any node, initializer or graph input");
      }
      int id = graph.ValueId(name);
      if (!local && std::find(graph.outer_values.begin(), graph.outer_values.end(), id) == graph.outer_values.end()) {
        graph.outer_values.push_back(id);
      }
      node.inputs.push_back(id);
    }
    node.explicit_input_count = node.inputs.size();
    for (const auto& name : np.output()) {
      if (name.empty()) {
        node.outputs.push_back(kNoValue);
        continue;
      }
      int id = graph.ValueId(name);
      if (!produced.insert(id).second) {
        return InvalidArgument(node.Describe() + ": output '" + name + "' is already produced elsewhere");
      }
      node.outputs.push_back(id);
    }
    for (auto& ap : *np.mutable_attribute()) {
      Attribute attr;
      TS_RETURN_IF_ERROR(ConvertAttribute(ap, node, scope, context, attr));
      if (attr.type == Attribute::Type::kGraph) AddImplicitInputs(*attr.g, graph, node);
      for (const auto& g : attr.graphs) AddImplicitInputs(*g, graph, node);
      node.attributes[ap.name()] = std::move(attr);
    }
    // Implicit inputs of a subgraph may themselves come from further out.
    for (size_t i = node.explicit_input_count; i < node.inputs.size(); ++i) {
      int id = node.inputs[i];
      const std::string& name = graph.value(id).name;
      if (!defined.count(name)) {
        if (!(outer && outer->Contains(name))) {
          return InvalidArgument(node.Describe() + ": subgraph reads '" + name + "', which is defined nowhere");
        }
        if (std::find(graph.outer_values.begin(), graph.outer_values.end(), id) == graph.outer_values.end()) {
          graph.outer_values.push_back(id);
        }
      }
    }
    graph.nodes.push_back(std::move(node));
  }

  for (const auto& out : proto.output()) {
    if (out.name().empty()) return InvalidArgument("graph '" + graph.name + "' has an output with no name");
    bool known = defined.count(out.name()) || (outer && outer->Contains(out.name()));
    if (!known) return InvalidArgument("graph output '" + out.name() + "' is not produced by any node");
    int id = graph.ValueId(out.name());
    if (!defined.count(out.name()) &&
        std::find(graph.outer_values.begin(), graph.outer_values.end(), id) == graph.outer_values.end()) {
      graph.outer_values.push_back(id);
    }
    ApplyTypeInfo(out, graph.values[static_cast<size_t>(id)]);
    graph.outputs.push_back(id);
  }
  return SortTopologically(graph);
}

}  // namespace tessera
