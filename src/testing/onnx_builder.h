// Test-only helpers that build small ONNX models in memory and write them to temporary files.
//
//   OnnxBuilder b(17);
//   b.Input("x", DType::kFloat32, {2, 3});
//   b.Node("Relu", {"x"}, {"y"});
//   b.Output("y", DType::kFloat32, {2, 3});
//   std::string path = b.WriteTemp();
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "tessera/tensor.h"

namespace tessera::testing {

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
    FillValueInfo(graph().add_input(), name, dtype, dims);
  }
  void Output(const std::string& name, DType dtype, const std::vector<int64_t>& dims) {
    FillValueInfo(graph().add_output(), name, dtype, dims);
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
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t v : values) a->add_ints(v);
  }
  static void IntAttribute(onnx::NodeProto& n, const std::string& name, int64_t value) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(value);
  }
  static void FloatAttribute(onnx::NodeProto& n, const std::string& name, float value) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(value);
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
  static void FillValueInfo(onnx::ValueInfoProto* v, const std::string& name, DType dtype,
                            const std::vector<int64_t>& dims) {
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(static_cast<int>(dtype));
    auto* shape = tt->mutable_shape();
    for (int64_t d : dims) {
      if (d >= 0) {
        shape->add_dim()->set_dim_value(d);
      } else {
        // Built with append, not "n" + std::to_string(...): GCC 12 misreports that form (-Wrestrict).
        std::string symbol = "n";
        symbol += std::to_string(shape->dim_size());
        shape->add_dim()->set_dim_param(symbol);
      }
    }
  }

  onnx::ModelProto model_;
};

}  // namespace tessera::testing
