// Test support for the control-flow kernel tests: graphs with subgraph attributes built as protos
// and run through a real Session (loader, executor, kernels) from a temporary file.
//
//   GraphSpec body("body"); body.In(...).Out(...); body.Node("Identity", {"x"}, {"y"});
//   GraphSpec main("model"); auto& n = main.Node("Loop", {...}, {...}); GraphAttr(n, "body", body);
//   auto outputs = RunModel(main, /*opset=*/16, {{"x", tensor}});
#pragma once

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "tessera/session.h"

namespace tessera::testing {

inline void Declare(onnx::ValueInfoProto* v, const std::string& name, DType dtype, const std::vector<int64_t>& dims) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(static_cast<int>(dtype));
  auto* shape = tt->mutable_shape();
  for (int64_t d : dims) {
    if (d >= 0) {
      shape->add_dim()->set_dim_value(d);
    } else {
      std::string symbol = "d";  // appended, not "d" + ...: GCC 12 misreports that form (-Wrestrict)
      symbol += std::to_string(shape->dim_size());
      shape->add_dim()->set_dim_param(symbol);
    }
  }
}

// A graph (main or subgraph) under construction.
struct GraphSpec {
  onnx::GraphProto proto;
  explicit GraphSpec(const std::string& name) { proto.set_name(name); }
  GraphSpec& In(const std::string& name, DType dtype, const std::vector<int64_t>& dims) {
    Declare(proto.add_input(), name, dtype, dims);
    return *this;
  }
  GraphSpec& Out(const std::string& name, DType dtype, const std::vector<int64_t>& dims) {
    Declare(proto.add_output(), name, dtype, dims);
    return *this;
  }
  onnx::NodeProto& Node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs) {
    auto* n = proto.add_node();
    n->set_op_type(op);
    n->set_name(proto.name() + "_" + op + std::to_string(proto.node_size()));
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return *n;
  }
  GraphSpec& Int64Initializer(const std::string& name, int64_t value) {
    auto* t = proto.add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_int64_data(value);
    return *this;
  }
};

inline void GraphAttr(onnx::NodeProto& n, const std::string& name, const GraphSpec& g) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::GRAPH);
  *a->mutable_g() = g.proto;
}

inline void IntsAttr(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& values) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}

inline void IntAttr(onnx::NodeProto& n, const std::string& name, int64_t value) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

// `name` = Optional() of a float tensor type: the empty optional.
inline void EmptyOptional(GraphSpec& g, const std::string& name) {
  auto& n = g.Node("Optional", {}, {name});
  auto* a = n.add_attribute();
  a->set_name("type");
  a->set_type(onnx::AttributeProto::TYPE_PROTO);
  a->mutable_tp()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
}

inline StatusOr<std::vector<Tensor>> RunModel(const GraphSpec& main, int opset,
                                              const std::vector<std::pair<std::string, Tensor>>& feeds) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  auto* op = model.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  *model.mutable_graph() = main.proto;
  static std::atomic<int> counter{0};
  const std::string path = ::testing::TempDir() + "tessera_control_flow_" + std::to_string(getpid()) + "_" +
                           std::to_string(counter++) + ".onnx";
  {
    std::ofstream out(path, std::ios::binary);
    model.SerializeToOstream(&out);
  }
  SessionOptions options;
  options.threads = 1;
  options.fold_constants = false;
  auto session = Session::Load(path, options);
  std::remove(path.c_str());
  if (!session.ok()) return session.status();
  return (*session)->Run(feeds);
}

inline Tensor Floats(Shape shape, std::vector<float> v) {
  return Tensor::FromVector(DType::kFloat32, std::move(shape), v);
}
inline Tensor Int64s(Shape shape, std::vector<int64_t> v) {
  return Tensor::FromVector(DType::kInt64, std::move(shape), v);
}
inline Tensor Bool(bool b) { return Tensor::FromVector(DType::kBool, {}, std::vector<bool>{b}); }

inline std::vector<float> FloatValues(const Tensor& t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.element_count());
}
inline std::vector<int64_t> Int64Values(const Tensor& t) {
  return std::vector<int64_t>(t.data<int64_t>(), t.data<int64_t>() + t.element_count());
}

}  // namespace tessera::testing
