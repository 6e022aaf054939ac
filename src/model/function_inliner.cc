// Function-body inlining over the GraphProto, before the graph builder runs.
#include "model/function_inliner.h"

#include <onnx/defs/schema.h>

#include <google/protobuf/unknown_field_set.h>

#include <deque>
#include <functional>
#include <map>
#include <unordered_map>
#include <vector>

namespace tessera {

namespace {

constexpr int kMaxExpansionDepth = 8;

struct PendingNode {
  onnx::NodeProto node;
  int depth;
};

// Types of every value whose type the model (or shape inference) states, for context-dependent bodies.
std::unordered_map<std::string, onnx::TypeProto> CollectTypes(const onnx::GraphProto& graph) {
  std::unordered_map<std::string, onnx::TypeProto> types;
  for (const auto& v : graph.input()) types[v.name()] = v.type();
  for (const auto& v : graph.value_info()) types[v.name()] = v.type();
  for (const auto& v : graph.output()) types[v.name()] = v.type();
  for (const auto& init : graph.initializer()) {
    onnx::TypeProto t;
    t.mutable_tensor_type()->set_elem_type(init.data_type());
    for (int64_t d : init.dims()) t.mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(d);
    types[init.name()] = t;
  }
  return types;
}

// The function body for `node`, or false when its op has none.
bool GetFunctionBody(const onnx::NodeProto& node, int opset,
                     const std::unordered_map<std::string, onnx::TypeProto>& types, onnx::FunctionProto& body,
                     const onnx::OpSchema*& schema) {
  std::string domain = node.domain() == "ai.onnx" ? "" : node.domain();
  schema = onnx::OpSchemaRegistry::Schema(node.op_type(), opset, domain);
  if (schema == nullptr) return false;
  if (schema->HasFunction() && schema->GetFunction() != nullptr) {
    body = *schema->GetFunction();
    return true;
  }
  if (schema->HasContextDependentFunction()) {
    std::vector<onnx::TypeProto> input_types;
    for (const auto& in : node.input()) {
      auto it = types.find(in);
      input_types.push_back(it == types.end() ? onnx::TypeProto() : it->second);
    }
    onnx::FunctionBodyBuildContextImpl context(node, input_types);
    try {
      return schema->BuildContextDependentFunction(context, body);
    } catch (const std::exception&) {
      return false;
    }
  }
  return false;
}

using NameMap = std::function<std::string(const std::string&)>;

void RenameGraph(onnx::GraphProto& graph, const NameMap& mapped, const std::string& prefix);

// Renames every value a node reads or writes, and the values of its subgraph attributes.
void RenameNode(onnx::NodeProto& node, const NameMap& mapped, const std::string& prefix) {
  for (auto& in : *node.mutable_input()) in = mapped(in);
  for (auto& out : *node.mutable_output()) out = mapped(out);
  for (auto& a : *node.mutable_attribute()) {
    if (a.has_g()) RenameGraph(*a.mutable_g(), mapped, prefix);
    for (auto& g : *a.mutable_graphs()) RenameGraph(g, mapped, prefix);
  }
}

// A subgraph inside a function body names the function's formal parameters and body values (which the
// outer renaming changes) as well as its own values: all go through the same mapping, so a capture of
// a formal parameter becomes the caller's value and the subgraph's own names get the node's prefix.
void RenameGraph(onnx::GraphProto& graph, const NameMap& mapped, const std::string& prefix) {
  for (auto& v : *graph.mutable_input()) v.set_name(mapped(v.name()));
  for (auto& v : *graph.mutable_output()) v.set_name(mapped(v.name()));
  for (auto& v : *graph.mutable_value_info()) v.set_name(mapped(v.name()));
  for (auto& t : *graph.mutable_initializer()) t.set_name(mapped(t.name()));
  for (auto& t : *graph.mutable_sparse_initializer()) {
    t.mutable_values()->set_name(mapped(t.values().name()));
    t.mutable_indices()->set_name(mapped(t.indices().name()));
  }
  for (auto& n : *graph.mutable_node()) {
    if (!n.name().empty()) n.set_name(prefix + n.name());
    RenameNode(n, mapped, prefix);
  }
}

using AttributeLookup = std::function<const onnx::AttributeProto*(const std::string& ref_attr_name)>;

// Replaces attributes that refer to the calling node's attributes (ref_attr_name) by their values,
// dropping those the call leaves unset, in `node` and in the nodes of its subgraphs. Runs after
// renaming, so a graph-valued attribute taken from the call keeps the caller's names.
void ResolveAttributeRefs(onnx::NodeProto& node, const AttributeLookup& lookup) {
  onnx::NodeProto resolved = node;
  resolved.clear_attribute();
  for (auto& a : *node.mutable_attribute()) {
    if (a.ref_attr_name().empty()) {
      if (a.has_g()) {
        for (auto& n : *a.mutable_g()->mutable_node()) ResolveAttributeRefs(n, lookup);
      }
      for (auto& g : *a.mutable_graphs()) {
        for (auto& n : *g.mutable_node()) ResolveAttributeRefs(n, lookup);
      }
      *resolved.add_attribute() = std::move(a);
      continue;
    }
    if (const onnx::AttributeProto* value = lookup(a.ref_attr_name())) {
      onnx::AttributeProto copy = *value;
      copy.set_name(a.name());
      *resolved.add_attribute() = std::move(copy);
    }
  }
  node = std::move(resolved);
}

// Rewrites the body's nodes into concrete nodes for `call`; `defaults` gives an attribute's default
// when the call omits it (the schema's, or a local function's attribute_proto), or nullptr.
std::vector<onnx::NodeProto> Instantiate(const onnx::NodeProto& call, const onnx::FunctionProto& body,
                                         const AttributeLookup& defaults, const std::string& prefix) {
  std::unordered_map<std::string, std::string> rename;
  for (int i = 0; i < body.input_size(); ++i) rename[body.input(i)] = i < call.input_size() ? call.input(i) : "";
  for (int i = 0; i < body.output_size(); ++i) {
    rename[body.output(i)] = i < call.output_size() && !call.output(i).empty() ? call.output(i) : prefix + body.output(i);
  }
  NameMap mapped = [&](const std::string& name) {
    if (name.empty()) return name;
    auto it = rename.find(name);
    return it != rename.end() ? it->second : prefix + name;
  };
  std::map<std::string, const onnx::AttributeProto*> call_attrs;
  for (const auto& a : call.attribute()) call_attrs[a.name()] = &a;
  // A reference to the calling node's attribute, or to the default when the call omits it.
  AttributeLookup lookup = [&](const std::string& ref) -> const onnx::AttributeProto* {
    if (auto it = call_attrs.find(ref); it != call_attrs.end()) return it->second;
    return defaults(ref);
  };

  std::vector<onnx::NodeProto> nodes;
  for (int k = 0; k < body.node_size(); ++k) {
    onnx::NodeProto n = body.node(k);
    n.set_name(prefix + (n.name().empty() ? n.op_type() + std::to_string(k) : n.name()));
    RenameNode(n, mapped, prefix);
    ResolveAttributeRefs(n, lookup);
    nodes.push_back(std::move(n));
  }
  return nodes;
}

AttributeLookup SchemaDefaults(const onnx::OpSchema& schema) {
  return [&schema](const std::string& ref) -> const onnx::AttributeProto* {
    auto def = schema.attributes().find(ref);
    if (def != schema.attributes().end() && def->second.default_value.type() != onnx::AttributeProto::UNDEFINED) {
      return &def->second.default_value;
    }
    return nullptr;
  };
}

// Fields newer than the installed ONNX library's protobuf (1.12 predates IR 9 and 10) arrive as unknown
// fields: FunctionProto.attribute_proto (11, attributes with defaults), FunctionProto.overload (13) and
// NodeProto.overload (8).
constexpr int kFunctionAttributeProtoField = 11;
constexpr int kFunctionOverloadField = 13;
constexpr int kNodeOverloadField = 8;

std::string UnknownStringField(const google::protobuf::Message& message, int number) {
  const auto& fields = message.GetReflection()->GetUnknownFields(message);
  for (int i = 0; i < fields.field_count(); ++i) {
    const auto& f = fields.field(i);
    if (f.number() == number && f.type() == google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
      return f.length_delimited();
    }
  }
  return "";
}

// IR 9's attribute defaults of a model-local function (IR 8 functions name their attributes, no defaults).
std::vector<onnx::AttributeProto> AttributeDefaults(const onnx::FunctionProto& function) {
  std::vector<onnx::AttributeProto> defaults;
  const auto& fields = function.GetReflection()->GetUnknownFields(function);
  for (int i = 0; i < fields.field_count(); ++i) {
    const auto& f = fields.field(i);
    if (f.number() != kFunctionAttributeProtoField ||
        f.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
      continue;
    }
    onnx::AttributeProto a;
    if (a.ParseFromString(f.length_delimited())) defaults.push_back(std::move(a));
  }
  return defaults;
}

AttributeLookup LocalDefaults(const std::vector<onnx::AttributeProto>& defaults) {
  return [&defaults](const std::string& ref) -> const onnx::AttributeProto* {
    for (const auto& a : defaults) {
      if (a.name() == ref) return &a;
    }
    return nullptr;
  };
}

std::string LocalFunctionKey(const std::string& domain, const std::string& name, const std::string& overload) {
  return domain + "\n" + name + "\n" + overload;
}

struct LocalFunction {
  const onnx::FunctionProto* body;
  std::vector<onnx::AttributeProto> defaults;
};

}  // namespace

Status InlineFunctionOps(onnx::ModelProto& model, const KernelAvailable& has_kernel, int* expanded) {
  // Model-local functions (IR 8+), called by a node of their domain and name (and overload, IR 10).
  std::map<std::string, LocalFunction> local;
  for (const auto& f : model.functions()) {
    local[LocalFunctionKey(f.domain(), f.name(), UnknownStringField(f, kFunctionOverloadField))] = {&f,
                                                                                                   AttributeDefaults(f)};
  }
  std::map<std::string, int> opsets;
  for (const auto& op : model.opset_import()) opsets[op.domain() == "ai.onnx" ? "" : op.domain()] = static_cast<int>(op.version());
  onnx::GraphProto& graph = *model.mutable_graph();
  auto types = CollectTypes(graph);

  std::deque<PendingNode> pending;
  for (const auto& n : graph.node()) pending.push_back({n, 0});
  std::vector<onnx::NodeProto> result;
  int count = 0;
  while (!pending.empty()) {
    PendingNode item = std::move(pending.front());
    pending.pop_front();
    const onnx::NodeProto& node = item.node;
    std::string domain = node.domain() == "ai.onnx" ? "" : node.domain();
    auto opset = opsets.find(domain);
    int version = opset == opsets.end() ? 0 : opset->second;
    auto local_function =
        local.find(LocalFunctionKey(node.domain(), node.op_type(), UnknownStringField(node, kNodeOverloadField)));
    if (local_function != local.end() && item.depth < kMaxExpansionDepth &&
        !has_kernel(node.op_type(), domain, version)) {
      ++count;
      std::string prefix = (node.name().empty() ? node.op_type() + std::to_string(count) : node.name()) + "/";
      const LocalFunction& f = local_function->second;
      auto nodes = Instantiate(node, *f.body, LocalDefaults(f.defaults), prefix);
      for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) pending.push_front({std::move(*it), item.depth + 1});
      continue;
    }
    onnx::FunctionProto body;
    const onnx::OpSchema* schema = nullptr;
    if (opset == opsets.end() || has_kernel(node.op_type(), domain, version) || item.depth >= kMaxExpansionDepth ||
        !GetFunctionBody(node, version, types, body, schema)) {
      result.push_back(node);
      continue;
    }
    ++count;
    std::string prefix = (node.name().empty() ? node.op_type() + std::to_string(count) : node.name()) + "/";
    auto nodes = Instantiate(node, body, SchemaDefaults(*schema), prefix);
    // Expanded nodes go first, in order, and may themselves need expanding.
    for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) pending.push_front({std::move(*it), item.depth + 1});
  }
  if (count > 0) {
    graph.clear_node();
    for (auto& n : result) *graph.add_node() = std::move(n);
  }
  // Every call is expanded, so the definitions are no longer needed (the graph builder reads nodes only).
  if (!local.empty()) model.clear_functions();
  if (expanded != nullptr) *expanded = count;
  return Status::Ok();
}

}  // namespace tessera
