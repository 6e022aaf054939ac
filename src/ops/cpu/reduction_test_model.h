// Test support for the reduction, softmax and normalization kernel tests: runs one ONNX node through a
// real Session (loader, executor, kernel) by writing a one-node model to a temporary file.
//
//   OneNodeModel m{"ReduceSum", 13};
//   m.Input("x", x).Input("axes", axes).Output("y", 2).Int("keepdims", 0);
//   auto outputs = m.Run();  // StatusOr<std::vector<Tensor>>
//
// Every input is a graph input fed at run time (none is constant), so kernels see them at Run().
#pragma once

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

#include "tessera/session.h"

namespace tessera::testing {

class OneNodeModel {
 public:
  OneNodeModel(std::string op_type, int opset) : opset_(opset) {
    node_ = graph_.add_node();
    node_->set_op_type(std::move(op_type));
    node_->set_name("node");
  }

  // An input fed with `value`; an empty name leaves an optional input out.
  OneNodeModel& Input(const std::string& name, const Tensor& value) {
    node_->add_input(name);
    if (name.empty()) return *this;
    onnx::ValueInfoProto* info = graph_.add_input();
    info->set_name(name);
    auto* type = info->mutable_type()->mutable_tensor_type();
    type->set_elem_type(static_cast<int>(value.dtype()));
    auto* shape = type->mutable_shape();
    for (int64_t d : value.shape()) shape->add_dim()->set_dim_value(d);
    feeds_.emplace_back(name, value);
    return *this;
  }
  OneNodeModel& SkipInput() { return Input("", Tensor()); }

  // An output of the node, declared as a graph output of `dtype` and `rank` symbolic dims (the ONNX
  // checker wants a shape); an empty name leaves an optional output out.
  OneNodeModel& Output(const std::string& name, int rank, DType dtype = DType::kFloat32) {
    node_->add_output(name);
    if (name.empty()) return *this;
    onnx::ValueInfoProto* info = graph_.add_output();
    info->set_name(name);
    auto* type = info->mutable_type()->mutable_tensor_type();
    type->set_elem_type(static_cast<int>(dtype));
    auto* shape = type->mutable_shape();
    for (int d = 0; d < rank; ++d) shape->add_dim()->set_dim_param(name + "_" + std::to_string(d));
    return *this;
  }
  OneNodeModel& SkipOutput() { return Output("", 0); }

  OneNodeModel& Int(const std::string& name, int64_t v) {
    auto* a = Attr(name, onnx::AttributeProto::INT);
    a->set_i(v);
    return *this;
  }
  OneNodeModel& Float(const std::string& name, float v) {
    auto* a = Attr(name, onnx::AttributeProto::FLOAT);
    a->set_f(v);
    return *this;
  }
  OneNodeModel& Ints(const std::string& name, const std::vector<int64_t>& v) {
    auto* a = Attr(name, onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
    return *this;
  }
  OneNodeModel& String(const std::string& name, const std::string& v) {
    auto* a = Attr(name, onnx::AttributeProto::STRING);
    a->set_s(v);
    return *this;
  }

  // Loads the model (load errors are returned too) and runs it once.
  StatusOr<std::vector<Tensor>> Run(int threads = 2) {
    onnx::ModelProto model;
    model.set_ir_version(8);
    auto* opset = model.add_opset_import();
    opset->set_domain("");
    opset->set_version(opset_);
    graph_.set_name("one_node");
    *model.mutable_graph() = graph_;
    static std::atomic<int> counter{0};
    const std::string path = ::testing::TempDir() + "tessera_one_node_" + std::to_string(getpid()) + "_" +
                             std::to_string(counter++) + ".onnx";
    {
      std::ofstream out(path, std::ios::binary);
      model.SerializeToOstream(&out);
    }
    SessionOptions options;
    options.threads = threads;
    options.fold_constants = false;
    auto session = Session::Load(path, options);
    std::remove(path.c_str());
    if (!session.ok()) return session.status();
    return (*session)->Run(feeds_);
  }

 private:
  onnx::AttributeProto* Attr(const std::string& name, onnx::AttributeProto::AttributeType type) {
    onnx::AttributeProto* a = node_->add_attribute();
    a->set_name(name);
    a->set_type(type);
    return a;
  }

  int opset_;
  onnx::GraphProto graph_;
  onnx::NodeProto* node_;
  std::vector<std::pair<std::string, Tensor>> feeds_;
};

}  // namespace tessera::testing
