// Test support for the special-ops tests: runs one ONNX node of any domain through a real Session
// (loader, executor, kernel) by writing a one-node model to a temporary file. Like reduction_test_model.h's
// OneNodeModel, plus a domain, string and list attributes and string inputs, which these ops need.
//
//   SpecialNodeModel m{"Adam", 1, "ai.onnx.preview.training"};
//   m.Input("r", r).Input("t", t).Output("x_new", 1).Float("alpha", 0.9f);
//   auto outputs = m.Run();  // StatusOr<std::vector<Tensor>>
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

class SpecialNodeModel {
 public:
  SpecialNodeModel(std::string op_type, int opset, std::string domain = "")
      : opset_(opset), domain_(std::move(domain)) {
    node_ = graph_.add_node();
    node_->set_op_type(std::move(op_type));
    node_->set_name("node");
    if (!domain_.empty()) node_->set_domain(domain_);
  }

  // An input fed with `value` at run time; an empty name leaves an optional input out.
  SpecialNodeModel& Input(const std::string& name, const Tensor& value) {
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
  SpecialNodeModel& SkipInput() { return Input("", Tensor()); }

  // An output declared with `rank` symbolic dims.
  SpecialNodeModel& Output(const std::string& name, int rank, DType dtype = DType::kFloat32) {
    node_->add_output(name);
    onnx::ValueInfoProto* info = graph_.add_output();
    info->set_name(name);
    auto* type = info->mutable_type()->mutable_tensor_type();
    type->set_elem_type(static_cast<int>(dtype));
    auto* shape = type->mutable_shape();
    for (int d = 0; d < rank; ++d) shape->add_dim()->set_dim_param(name + "_" + std::to_string(d));
    return *this;
  }

  SpecialNodeModel& Int(const std::string& name, int64_t v) {
    Attr(name, onnx::AttributeProto::INT)->set_i(v);
    return *this;
  }
  SpecialNodeModel& Float(const std::string& name, float v) {
    Attr(name, onnx::AttributeProto::FLOAT)->set_f(v);
    return *this;
  }
  SpecialNodeModel& String(const std::string& name, const std::string& v) {
    Attr(name, onnx::AttributeProto::STRING)->set_s(v);
    return *this;
  }
  SpecialNodeModel& Ints(const std::string& name, const std::vector<int64_t>& v) {
    auto* a = Attr(name, onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
    return *this;
  }
  SpecialNodeModel& Floats(const std::string& name, const std::vector<float>& v) {
    auto* a = Attr(name, onnx::AttributeProto::FLOATS);
    for (float x : v) a->add_floats(x);
    return *this;
  }
  SpecialNodeModel& Strings(const std::string& name, const std::vector<std::string>& v) {
    auto* a = Attr(name, onnx::AttributeProto::STRINGS);
    for (const std::string& x : v) a->add_strings(x);
    return *this;
  }

  // Loads the model (load errors are returned too) and runs it once.
  StatusOr<std::vector<Tensor>> Run(int threads = 2) {
    onnx::ModelProto model;
    model.set_ir_version(8);
    auto* opset = model.add_opset_import();
    opset->set_domain("");
    opset->set_version(domain_.empty() ? opset_ : 17);
    if (!domain_.empty()) {
      opset = model.add_opset_import();
      opset->set_domain(domain_);
      opset->set_version(opset_);
    }
    graph_.set_name("one_node");
    *model.mutable_graph() = graph_;
    static std::atomic<int> counter{0};
    const std::string path = ::testing::TempDir() + "tessera_special_" + std::to_string(getpid()) + "_" +
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
  std::string domain_;
  onnx::GraphProto graph_;
  onnx::NodeProto* node_;
  std::vector<std::pair<std::string, Tensor>> feeds_;
};

}  // namespace tessera::testing
