// Test support for the recurrent kernel tests: one RNN/GRU/LSTM node in a real Session. Like
// OneNodeModel (reduction_test_model.h) but with list attributes and inputs that can be initializers,
// so the constant-weight path (weights packed once, reused across runs) is exercised too.
#pragma once

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tessera/session.h"

namespace tessera::testing {

class RecurrentModel {
 public:
  RecurrentModel(std::string op_type, int opset) : opset_(opset) {
    node_ = graph_.add_node();
    node_->set_op_type(std::move(op_type));
    node_->set_name("node");
  }

  // An input fed at run time, or (constant) an initializer; an empty name leaves it out.
  RecurrentModel& Input(const std::string& name, const Tensor& value, bool constant = false) {
    node_->add_input(name);
    if (name.empty()) return *this;
    if (constant) {
      onnx::TensorProto* t = graph_.add_initializer();
      t->set_name(name);
      t->set_data_type(static_cast<int>(value.dtype()));
      for (int64_t d : value.shape()) t->add_dims(d);
      t->set_raw_data(std::string(static_cast<const char*>(value.raw_data()), value.byte_size()));
      return *this;
    }
    onnx::ValueInfoProto* info = graph_.add_input();
    info->set_name(name);
    auto* type = info->mutable_type()->mutable_tensor_type();
    type->set_elem_type(static_cast<int>(value.dtype()));
    for (int64_t d : value.shape()) type->mutable_shape()->add_dim()->set_dim_value(d);
    feeds_.emplace_back(name, value);
    return *this;
  }
  RecurrentModel& SkipInput() { return Input("", Tensor()); }

  RecurrentModel& Output(const std::string& name, int rank, DType dtype = DType::kFloat32) {
    node_->add_output(name);
    if (name.empty()) return *this;
    onnx::ValueInfoProto* info = graph_.add_output();
    info->set_name(name);
    auto* type = info->mutable_type()->mutable_tensor_type();
    type->set_elem_type(static_cast<int>(dtype));
    for (int d = 0; d < rank; ++d) type->mutable_shape()->add_dim()->set_dim_param(name + "_" + std::to_string(d));
    return *this;
  }
  RecurrentModel& SkipOutput() { return Output("", 0); }

  RecurrentModel& Int(const std::string& name, int64_t v) {
    Attr(name, onnx::AttributeProto::INT)->set_i(v);
    return *this;
  }
  RecurrentModel& Float(const std::string& name, float v) {
    Attr(name, onnx::AttributeProto::FLOAT)->set_f(v);
    return *this;
  }
  RecurrentModel& String(const std::string& name, const std::string& v) {
    Attr(name, onnx::AttributeProto::STRING)->set_s(v);
    return *this;
  }
  RecurrentModel& Strings(const std::string& name, const std::vector<std::string>& v) {
    auto* a = Attr(name, onnx::AttributeProto::STRINGS);
    for (const auto& s : v) a->add_strings(s);
    return *this;
  }
  RecurrentModel& Floats(const std::string& name, const std::vector<float>& v) {
    auto* a = Attr(name, onnx::AttributeProto::FLOATS);
    for (float f : v) a->add_floats(f);
    return *this;
  }

  // Loads the model into a session (kept for further runs).
  Status Load(int threads = 2) {
    onnx::ModelProto model;
    model.set_ir_version(8);
    auto* opset = model.add_opset_import();
    opset->set_domain("");
    opset->set_version(opset_);
    graph_.set_name("one_node");
    *model.mutable_graph() = graph_;
    static std::atomic<int> counter{0};
    const std::string path = ::testing::TempDir() + "tessera_recurrent_" + std::to_string(getpid()) + "_" +
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
    session_ = std::move(session).value();
    return Status::Ok();
  }
  StatusOr<std::vector<Tensor>> RunLoaded() { return session_->Run(feeds_); }
  // Replaces the value fed to input `name` on later runs.
  void SetFeed(const std::string& name, const Tensor& value) {
    for (auto& [n, v] : feeds_) {
      if (n == name) v = value;
    }
  }
  // Loads and runs once.
  StatusOr<std::vector<Tensor>> Run(int threads = 2) {
    Status s = Load(threads);
    if (!s.ok()) return s;
    return RunLoaded();
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
  std::unique_ptr<Session> session_;
};

}  // namespace tessera::testing
