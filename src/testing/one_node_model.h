// One ONNX node of any domain run through a real Session: the short form of onnx_builder.h that the
// kernel tests use.
//
//   OneNodeModel m{"ReduceSum", 13};                      // or {"Adam", 1, "ai.onnx.preview.training"}
//   m.Input("x", x).Input("axes", axes).Output("y", 2).Int("keepdims", 0);
//   auto outputs = m.Run();                               // StatusOr<std::vector<Tensor>>
//
// Inputs are graph inputs fed at run time unless marked constant (then initializers, which kernels see
// at creation). An empty input or output name leaves an optional one out. Outputs are declared with
// `rank` symbolic dims, so the kernel's own shapes are what the test sees. Load() keeps the session for
// further runs with SetFeed(); Run() loads and runs once. Constant folding is off, so the node itself runs.
#pragma once

#include <onnx/onnx_pb.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tessera/session.h"
#include "testing/onnx_builder.h"

namespace tessera::testing {

class OneNodeModel {
 public:
  OneNodeModel(std::string op_type, int opset, std::string domain = "") : opset_(opset), domain_(std::move(domain)) {
    node_ = graph_.add_node();
    node_->set_op_type(std::move(op_type));
    node_->set_name("node");
    if (!domain_.empty()) node_->set_domain(domain_);
  }

  OneNodeModel& Input(const std::string& name, const Tensor& value, bool constant = false) {
    node_->add_input(name);
    if (name.empty()) return *this;
    if (constant) {
      SetTensorProto(graph_.add_initializer(), name, value);
      return *this;
    }
    std::vector<int64_t> dims(value.shape().begin(), value.shape().end());
    DeclareValue(graph_.add_input(), name, value.dtype(), dims);
    feeds_.emplace_back(name, value);
    return *this;
  }
  OneNodeModel& SkipInput() { return Input("", Tensor()); }

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
    SetIntAttribute(*node_, name, v);
    return *this;
  }
  OneNodeModel& Float(const std::string& name, float v) {
    SetFloatAttribute(*node_, name, v);
    return *this;
  }
  OneNodeModel& String(const std::string& name, const std::string& v) {
    SetStringAttribute(*node_, name, v);
    return *this;
  }
  OneNodeModel& Ints(const std::string& name, const std::vector<int64_t>& v) {
    SetIntsAttribute(*node_, name, v);
    return *this;
  }
  OneNodeModel& Floats(const std::string& name, const std::vector<float>& v) {
    SetFloatsAttribute(*node_, name, v);
    return *this;
  }
  OneNodeModel& Strings(const std::string& name, const std::vector<std::string>& v) {
    SetStringsAttribute(*node_, name, v);
    return *this;
  }

  // Loads the model into a session kept for RunLoaded(). A node of another domain gets that domain at
  // `opset` and the default domain at 17.
  Status Load(int threads = 2) {
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
    SessionOptions options;
    options.threads = threads;
    options.fold_constants = false;
    auto session = LoadModelProto(model, options);
    if (!session.ok()) return session.status();
    session_ = std::move(session).value();
    return Status::Ok();
  }
  StatusOr<std::vector<Tensor>> RunLoaded() { return session_->Run(feeds_); }
  // The session of the last Load().
  Session& session() { return *session_; }
  // Replaces the value fed to input `name` on later runs.
  void SetFeed(const std::string& name, const Tensor& value) {
    for (auto& [n, v] : feeds_) {
      if (n == name) v = value;
    }
  }
  // Loads and runs once (load errors are returned too).
  StatusOr<std::vector<Tensor>> Run(int threads = 2) {
    Status s = Load(threads);
    if (!s.ok()) return s;
    return RunLoaded();
  }

 private:
  int opset_;
  std::string domain_;
  onnx::GraphProto graph_;
  onnx::NodeProto* node_;
  std::vector<std::pair<std::string, Tensor>> feeds_;
  std::unique_ptr<Session> session_;
};

}  // namespace tessera::testing
