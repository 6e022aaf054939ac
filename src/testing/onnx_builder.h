// The one way tests build ONNX models: in memory, with protobuf, then written to a temporary file and
// loaded through a real Session (loader, passes, executor, kernels).
//
//   OnnxBuilder b(17);                                   // a model: opset imports + its main graph
//   b.Input("x", DType::kFloat32, {2, 3});
//   b.Node("Relu", {"x"}, {"y"});
//   b.Output("y", DType::kFloat32, {2, 3});
//   std::string path = b.WriteTemp();
//
//   GraphBuilder body("body");                           // a subgraph (If/Loop/Scan bodies) or main graph
//   body.In("i", DType::kInt64, {}).Out("o", DType::kFloat32, {-1});
//   SetGraphAttribute(node, "body", body);
//   auto outputs = RunGraph(body, 17, feeds);            // StatusOr<std::vector<Tensor>>
//
// One-node models have their own short form in one_node_model.h, built on these pieces. A negative dim
// is a symbolic one (named after its position).
#pragma once

#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/low_precision.h"
#include "tessera/session.h"
#include "tessera/tensor.h"

namespace tessera::testing {

// Fills a graph input/output declaration; dims < 0 become symbols `<prefix><position>`.
inline void DeclareValue(onnx::ValueInfoProto* v, const std::string& name, DType dtype,
                         const std::vector<int64_t>& dims, const char* symbol_prefix = "n") {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(static_cast<int>(dtype));
  auto* shape = tt->mutable_shape();
  for (int64_t d : dims) {
    if (d >= 0) {
      shape->add_dim()->set_dim_value(d);
    } else {
      // Built with append, not prefix + std::to_string(...): GCC 12 misreports that form (-Wrestrict).
      std::string symbol = symbol_prefix;
      symbol += std::to_string(shape->dim_size());
      shape->add_dim()->set_dim_param(symbol);
    }
  }
}

// An initializer holding `value`'s bytes.
inline void SetTensorProto(onnx::TensorProto* t, const std::string& name, const Tensor& value) {
  t->set_name(name);
  t->set_data_type(static_cast<int>(value.dtype()));
  for (int64_t d : value.shape()) t->add_dims(d);
  if (IsPackedFourBit(value.dtype())) {  // two per byte in the file, as ONNX stores them
    std::string packed(PackedByteSize(value.dtype(), static_cast<size_t>(value.element_count())), '\0');
    PackNibbles(value.data<uint8_t>(), static_cast<size_t>(value.element_count()),
                reinterpret_cast<uint8_t*>(packed.data()));
    t->set_raw_data(packed);
    return;
  }
  t->set_raw_data(std::string(static_cast<const char*>(value.raw_data()), value.byte_size()));
}

inline onnx::AttributeProto* AddAttribute(onnx::NodeProto& n, const std::string& name,
                                          onnx::AttributeProto::AttributeType type) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(type);
  return a;
}
inline void SetIntAttribute(onnx::NodeProto& n, const std::string& name, int64_t value) {
  AddAttribute(n, name, onnx::AttributeProto::INT)->set_i(value);
}
inline void SetIntsAttribute(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& values) {
  auto* a = AddAttribute(n, name, onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}
inline void SetFloatAttribute(onnx::NodeProto& n, const std::string& name, float value) {
  AddAttribute(n, name, onnx::AttributeProto::FLOAT)->set_f(value);
}
inline void SetFloatsAttribute(onnx::NodeProto& n, const std::string& name, const std::vector<float>& values) {
  auto* a = AddAttribute(n, name, onnx::AttributeProto::FLOATS);
  for (float v : values) a->add_floats(v);
}
inline void SetStringAttribute(onnx::NodeProto& n, const std::string& name, const std::string& value) {
  AddAttribute(n, name, onnx::AttributeProto::STRING)->set_s(value);
}
inline void SetStringsAttribute(onnx::NodeProto& n, const std::string& name,
                                const std::vector<std::string>& values) {
  auto* a = AddAttribute(n, name, onnx::AttributeProto::STRINGS);
  for (const std::string& v : values) a->add_strings(v);
}

// A graph (a model's main graph or a subgraph) under construction.
class GraphBuilder {
 public:
  explicit GraphBuilder(const std::string& name) { proto.set_name(name); }

  GraphBuilder& In(const std::string& name, DType dtype, const std::vector<int64_t>& dims) {
    DeclareValue(proto.add_input(), name, dtype, dims, "d");
    return *this;
  }
  GraphBuilder& Out(const std::string& name, DType dtype, const std::vector<int64_t>& dims) {
    DeclareValue(proto.add_output(), name, dtype, dims, "d");
    return *this;
  }
  // A node named after the graph, its op and its position (names must be unique across subgraphs).
  onnx::NodeProto& Node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs) {
    auto* n = proto.add_node();
    n->set_op_type(op);
    n->set_name(proto.name() + "_" + op + std::to_string(proto.node_size()));
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return *n;
  }
  GraphBuilder& Int64Initializer(const std::string& name, int64_t value) {
    auto* t = proto.add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_int64_data(value);
    return *this;
  }

  onnx::GraphProto proto;
};

// `name` = Optional() of a float tensor type: the empty optional.
inline void AddEmptyOptional(GraphBuilder& g, const std::string& name) {
  auto& n = g.Node("Optional", {}, {name});
  AddAttribute(n, "type", onnx::AttributeProto::TYPE_PROTO)
      ->mutable_tp()
      ->mutable_tensor_type()
      ->set_elem_type(onnx::TensorProto::FLOAT);
}

inline void SetGraphAttribute(onnx::NodeProto& n, const std::string& name, const GraphBuilder& g) {
  *AddAttribute(n, name, onnx::AttributeProto::GRAPH)->mutable_g() = g.proto;
}

// Writes `model` to a unique temporary file, loads it and removes the file (the session keeps nothing
// of it open). Load errors are returned.
inline StatusOr<std::unique_ptr<Session>> LoadModelProto(const onnx::ModelProto& model, const SessionOptions& options) {
  static std::atomic<int> counter{0};
  const char* tmp = std::getenv("TMPDIR");
  const std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/tessera_test_model_" +
                           std::to_string(getpid()) + "_" + std::to_string(counter++) + ".onnx";
  {
    std::ofstream out(path, std::ios::binary);
    model.SerializeToOstream(&out);
  }
  auto session = Session::Load(path, options);
  std::remove(path.c_str());
  return session;
}

// Runs `main` as a model of the default domain at `opset`, on one thread, without constant folding.
inline StatusOr<std::vector<Tensor>> RunGraph(const GraphBuilder& main, int opset,
                                              const std::vector<std::pair<std::string, Tensor>>& feeds) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  auto* op = model.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  *model.mutable_graph() = main.proto;
  SessionOptions options;
  options.threads = 1;
  options.fold_constants = false;
  auto session = LoadModelProto(model, options);
  if (!session.ok()) return session.status();
  return (*session)->Run(feeds);
}

// A model under construction: its opset imports and main graph.
class OnnxBuilder {
 public:
  explicit OnnxBuilder(int opset = 17, int ir_version = 8) {
    model_.set_ir_version(ir_version);
    model_.set_producer_name("tessera-tests");
    auto* op = model_.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
    model_.mutable_graph()->set_name("test_graph");
  }

  onnx::ModelProto& proto() { return model_; }
  onnx::GraphProto& graph() { return *model_.mutable_graph(); }

  void Input(const std::string& name, DType dtype, const std::vector<int64_t>& dims) {
    DeclareValue(graph().add_input(), name, dtype, dims);
  }
  void Output(const std::string& name, DType dtype, const std::vector<int64_t>& dims) {
    DeclareValue(graph().add_output(), name, dtype, dims);
  }
  onnx::NodeProto& Node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& name = "") {
    auto* n = graph().add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? op + std::to_string(graph().node_size()) : name);
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return *n;
  }
  onnx::TensorProto& Initializer(const std::string& name, const std::vector<float>& values,
                                 const std::vector<int64_t>& dims) {
    auto* t = graph().add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
    return *t;
  }
  static void IntsAttribute(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& values) {
    SetIntsAttribute(n, name, values);
  }
  static void IntAttribute(onnx::NodeProto& n, const std::string& name, int64_t value) {
    SetIntAttribute(n, name, value);
  }
  static void FloatAttribute(onnx::NodeProto& n, const std::string& name, float value) {
    SetFloatAttribute(n, name, value);
  }

  std::string Serialize() const { return model_.SerializeAsString(); }

  // Writes the model into a fresh temporary folder and returns the file's path.
  std::string WriteTemp(const std::string& file_name = "model.onnx") const {
    std::string dir = MakeTempDir();
    std::string path = dir + "/" + file_name;
    std::ofstream(path, std::ios::binary) << Serialize();
    return path;
  }

  static std::string MakeTempDir() {
    char tmpl[] = "/tmp/tessera_test_XXXXXX";
    const char* dir = mkdtemp(tmpl);
    return dir ? dir : "/tmp";
  }

 private:
  onnx::ModelProto model_;
};

}  // namespace tessera::testing
