// Editing an onnx::ModelProto in place: reading float initializers (inline or external), adding new
// initializers and nodes with names that collide with nothing, opset imports, and dropping initializers
// that no node uses any more. The quantization rewrites are written on top of this.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "model/external_data.h"
#include "tessera/status.h"

namespace tessera::compress {

class ModelEdit {
 public:
  // `model_dir` resolves the model's external data. The proto must outlive this object.
  ModelEdit(onnx::ModelProto& model, std::string model_dir, std::string display_name);

  onnx::ModelProto& model() { return model_; }
  const onnx::ModelProto& model() const { return model_; }
  onnx::GraphProto& graph() { return *model_.mutable_graph(); }
  const std::string& display_name() const { return display_name_; }
  const std::string& model_dir() const { return model_dir_; }

  // A main-graph initializer that is not also a graph input (a graph input can be fed, so it is not a
  // constant); nullptr when there is none of that name.
  const onnx::TensorProto* ConstantInitializer(const std::string& name) const;
  // The values of a float32 initializer (raw, typed or external data); errors name the model and tensor.
  StatusOr<std::vector<float>> ReadFloats(const onnx::TensorProto& tensor);

  // A name no value, node or initializer of the model uses yet, built from `base`.
  std::string UniqueName(const std::string& base);
  void AddFloatInitializer(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v);
  void AddInt8Initializer(const std::string& name, const std::vector<int64_t>& dims, const std::vector<int8_t>& v);
  void AddUInt8Initializer(const std::string& name, const std::vector<int64_t>& dims, const std::vector<uint8_t>& v);
  onnx::NodeProto MakeNode(const std::string& op, const std::vector<std::string>& inputs,
                           const std::vector<std::string>& outputs, const std::string& name,
                           const std::string& domain = "");

  // The opset the main graph imports for the default domain (1 when it imports none).
  int64_t DefaultOpset() const;
  // Adds an import of `domain` at `version` unless the model imports that domain already.
  void ImportDomain(const std::string& domain, int64_t version);

  // Drops initializers that no node (in any subgraph) reads and that are not graph outputs.
  void RemoveUnusedInitializers();

 private:
  void AddInitializer(onnx::TensorProto tensor);

  onnx::ModelProto& model_;
  std::string model_dir_, display_name_;
  ExternalDataResolver resolver_;
  std::map<std::string, int> initializer_index_;
  std::set<std::string> graph_inputs_;
  std::set<std::string> used_names_;
  int name_counter_ = 0;
};

// Attribute readers for a NodeProto (absent or of another type -> fallback).
int64_t IntAttribute(const onnx::NodeProto& node, const std::string& name, int64_t fallback);
float FloatAttribute(const onnx::NodeProto& node, const std::string& name, float fallback);
void SetIntAttribute(onnx::NodeProto& node, const std::string& name, int64_t value);

}  // namespace tessera::compress
