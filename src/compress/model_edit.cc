// ModelEdit: the proto-level edits the quantization rewrites share.
#include "compress/model_edit.h"

#include "model/tensor_proto.h"

namespace tessera::compress {
namespace {

void CollectNames(const onnx::GraphProto& g, std::set<std::string>& names) {
  for (const auto& v : g.input()) names.insert(v.name());
  for (const auto& v : g.output()) names.insert(v.name());
  for (const auto& t : g.initializer()) names.insert(t.name());
  for (const auto& n : g.node()) {
    names.insert(n.name());
    for (const auto& i : n.input()) names.insert(i);
    for (const auto& o : n.output()) names.insert(o);
    for (const auto& a : n.attribute()) {
      if (a.has_g()) CollectNames(a.g(), names);
      for (const auto& sub : a.graphs()) CollectNames(sub, names);
    }
  }
}

void CollectReads(const onnx::GraphProto& g, std::set<std::string>& reads) {
  for (const auto& n : g.node()) {
    for (const auto& i : n.input()) reads.insert(i);
    for (const auto& a : n.attribute()) {
      if (a.has_g()) CollectReads(a.g(), reads);
      for (const auto& sub : a.graphs()) CollectReads(sub, reads);
    }
  }
  for (const auto& v : g.output()) reads.insert(v.name());
}

onnx::TensorProto MakeTensor(const std::string& name, int dtype, const std::vector<int64_t>& dims, const void* data,
                             size_t bytes) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(dtype);
  for (int64_t d : dims) t.add_dims(d);
  t.set_raw_data(std::string(static_cast<const char*>(data), bytes));
  return t;
}

}  // namespace

ModelEdit::ModelEdit(onnx::ModelProto& model, std::string model_dir, std::string display_name)
    : model_(model), model_dir_(model_dir), display_name_(std::move(display_name)), resolver_(model_dir) {
  const auto& g = model_.graph();
  for (int i = 0; i < g.initializer_size(); ++i) initializer_index_[g.initializer(i).name()] = i;
  for (const auto& v : g.input()) graph_inputs_.insert(v.name());
  CollectNames(g, used_names_);
}

const onnx::TensorProto* ModelEdit::ConstantInitializer(const std::string& name) const {
  auto it = initializer_index_.find(name);
  if (it == initializer_index_.end() || graph_inputs_.count(name)) return nullptr;
  return &model_.graph().initializer(it->second);
}

StatusOr<std::vector<float>> ModelEdit::ReadFloats(const onnx::TensorProto& tensor) {
  auto fail = [&](const Status& s) { return s.WithContext("model '" + display_name_ + "'"); };
  if (tensor.data_type() != onnx::TensorProto::FLOAT) {
    return fail(InvalidArgument("initializer '" + tensor.name() + "' is not float32"));
  }
  onnx::TensorProto copy = tensor;  // TakeTensorFromProto moves the bytes out; the model keeps its own
  auto t = TakeTensorFromProto(copy, &resolver_);
  if (!t.ok()) return fail(t.status());
  const float* p = t->data<float>();
  return std::vector<float>(p, p + t->element_count());
}

std::string ModelEdit::UniqueName(const std::string& base) {
  std::string name = base;
  while (used_names_.count(name)) name = base + "_" + std::to_string(++name_counter_);
  used_names_.insert(name);
  return name;
}

void ModelEdit::AddInitializer(onnx::TensorProto tensor) {
  initializer_index_[tensor.name()] = graph().initializer_size();
  *graph().add_initializer() = std::move(tensor);
}

void ModelEdit::AddFloatInitializer(const std::string& name, const std::vector<int64_t>& dims,
                                    const std::vector<float>& v) {
  AddInitializer(MakeTensor(name, onnx::TensorProto::FLOAT, dims, v.data(), v.size() * sizeof(float)));
}
void ModelEdit::AddInt8Initializer(const std::string& name, const std::vector<int64_t>& dims,
                                   const std::vector<int8_t>& v) {
  AddInitializer(MakeTensor(name, onnx::TensorProto::INT8, dims, v.data(), v.size()));
}
void ModelEdit::AddUInt8Initializer(const std::string& name, const std::vector<int64_t>& dims,
                                    const std::vector<uint8_t>& v) {
  AddInitializer(MakeTensor(name, onnx::TensorProto::UINT8, dims, v.data(), v.size()));
}

onnx::NodeProto ModelEdit::MakeNode(const std::string& op, const std::vector<std::string>& inputs,
                                    const std::vector<std::string>& outputs, const std::string& name,
                                    const std::string& domain) {
  onnx::NodeProto n;
  n.set_op_type(op);
  n.set_name(UniqueName(name));
  if (!domain.empty()) n.set_domain(domain);
  for (const auto& i : inputs) n.add_input(i);
  for (const auto& o : outputs) n.add_output(o);
  return n;
}

int64_t ModelEdit::DefaultOpset() const {
  for (const auto& op : model_.opset_import()) {
    if (op.domain().empty() || op.domain() == "ai.onnx") return op.version();
  }
  return 1;
}

void ModelEdit::ImportDomain(const std::string& domain, int64_t version) {
  for (const auto& op : model_.opset_import()) {
    if (op.domain() == domain) return;
  }
  auto* op = model_.add_opset_import();
  op->set_domain(domain);
  op->set_version(version);
}

void ModelEdit::RemoveUnusedInitializers() {
  std::set<std::string> reads;
  CollectReads(model_.graph(), reads);
  auto* inits = graph().mutable_initializer();
  int kept = 0;
  for (int i = 0; i < inits->size(); ++i) {
    if (!reads.count(inits->Get(i).name()) && !graph_inputs_.count(inits->Get(i).name())) continue;
    if (kept != i) inits->SwapElements(kept, i);
    ++kept;
  }
  while (inits->size() > kept) inits->RemoveLast();
  initializer_index_.clear();
  for (int i = 0; i < inits->size(); ++i) initializer_index_[inits->Get(i).name()] = i;
}

int64_t IntAttribute(const onnx::NodeProto& node, const std::string& name, int64_t fallback) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name && a.type() == onnx::AttributeProto::INT) return a.i();
  }
  return fallback;
}

float FloatAttribute(const onnx::NodeProto& node, const std::string& name, float fallback) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name && a.type() == onnx::AttributeProto::FLOAT) return a.f();
  }
  return fallback;
}

void SetIntAttribute(onnx::NodeProto& node, const std::string& name, int64_t value) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

}  // namespace tessera::compress
