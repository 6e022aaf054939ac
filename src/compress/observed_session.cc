// ObservedSession: extra graph outputs on a copy of the model, loaded like Session::Load does.
#include "compress/observed_session.h"

#include <set>

#include "model/onnx_loader.h"
#include "ops/registry.h"
#include "runtime/session_factory.h"

namespace tessera::compress {

std::vector<std::string> FedInputNames(const onnx::GraphProto& graph) {
  std::set<std::string> initializers;
  for (const auto& t : graph.initializer()) initializers.insert(t.name());
  std::vector<std::string> names;
  for (const auto& v : graph.input()) {
    if (!initializers.count(v.name())) names.push_back(v.name());
  }
  return names;
}

StatusOr<ObservedSession> ObservedSession::Create(const onnx::ModelProto& model, const std::string& model_dir,
                                                  const std::string& display_name,
                                                  const std::vector<std::string>& observed) {
  auto proto = std::make_unique<onnx::ModelProto>(model);
  std::set<std::string> outputs;
  for (const auto& v : proto->graph().output()) outputs.insert(v.name());
  for (const auto& v : proto->graph().input()) outputs.insert(v.name());  // Run() returns the feeds as they are
  for (const std::string& name : observed) {
    if (!outputs.insert(name).second) continue;
    auto* v = proto->mutable_graph()->add_output();
    v->set_name(name);
    // Every observed value is a float activation; its shape is left to the run.
    v->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  }
  LoadOptions load;
  // The ONNX checker wants a shape on every main-graph output, which the added ones cannot state; the
  // graph builder still checks every reference of the copy.
  load.run_checker = observed.empty();
  load.has_kernel = [](const std::string& op, const std::string& domain, int opset) {
    return KernelRegistry::Global().Find(op, domain, opset) != nullptr;
  };
  TS_ASSIGN_OR_RETURN(Model loaded, LoadModelFromProto(std::move(proto), model_dir, display_name, load));
  TS_ASSIGN_OR_RETURN(auto session, CreateSessionFromModel(std::move(loaded), SessionOptions{}));
  ObservedSession s;
  s.session_ = std::move(session);
  return s;
}

StatusOr<std::map<std::string, Tensor>> ObservedSession::Run(const CalibrationSample& sample) {
  TS_ASSIGN_OR_RETURN(std::vector<Tensor> values, session_->Run(sample));
  std::map<std::string, Tensor> by_name;
  const auto& infos = session_->outputs();
  for (size_t i = 0; i < values.size() && i < infos.size(); ++i) by_name[infos[i].name] = std::move(values[i]);
  for (const auto& [name, feed] : sample) by_name.emplace(name, feed);
  return by_name;
}

}  // namespace tessera::compress
