// Node arity and required-attribute checks from onnx::OpSchema.
#include "model/node_schema_check.h"

#include <onnx/defs/schema.h>

#include <string>

namespace tessera {

Status CheckNodeAgainstSchema(const onnx::NodeProto& node, const std::string& domain, int opset) {
  const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(node.op_type(), opset, domain);
  if (schema == nullptr) return Status::Ok();
  const int inputs = node.input_size(), outputs = node.output_size();
  if (inputs < schema->min_input() || inputs > schema->max_input()) {
    return InvalidArgument("has " + std::to_string(inputs) + " inputs; " + node.op_type() + " takes " +
                           std::to_string(schema->min_input()) + " to " + std::to_string(schema->max_input()));
  }
  if (outputs < schema->min_output() || outputs > schema->max_output()) {
    return InvalidArgument("has " + std::to_string(outputs) + " outputs; " + node.op_type() + " makes " +
                           std::to_string(schema->min_output()) + " to " + std::to_string(schema->max_output()));
  }
  const auto& formals = schema->inputs();
  for (int i = 0; i < inputs && i < static_cast<int>(formals.size()); ++i) {
    if (formals[static_cast<size_t>(i)].GetOption() == onnx::OpSchema::Single && node.input(i).empty()) {
      return InvalidArgument("required input " + std::to_string(i) + " ('" + formals[static_cast<size_t>(i)].GetName() +
                             "') is empty");
    }
  }
  // Variadic inputs are all required (no empty names among them).
  if (!formals.empty() && formals.back().GetOption() == onnx::OpSchema::Variadic) {
    for (int i = static_cast<int>(formals.size()) - 1; i < inputs; ++i) {
      if (node.input(i).empty()) return InvalidArgument("variadic input " + std::to_string(i) + " is empty");
    }
  }
  for (const auto& [name, attr] : schema->attributes()) {
    if (!attr.required) continue;
    bool present = false;
    for (const auto& a : node.attribute()) present |= a.name() == name;
    if (!present) return InvalidArgument("required attribute '" + name + "' is missing");
  }
  return Status::Ok();
}

}  // namespace tessera
