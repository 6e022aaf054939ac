// Node arity and required-attribute checks from onnx::OpSchema, or from Tessera's own table for op
// versions newer than the installed library (newer_op_schemas.h).
#include "model/node_schema_check.h"

#include <onnx/defs/schema.h>

#include <algorithm>
#include <string>

#include "model/newer_op_schemas.h"

namespace tessera {
namespace {

Status CheckAgainstNewerSchema(const onnx::NodeProto& node, const NewerOpSchema& schema) {
  const int inputs = node.input_size(), outputs = node.output_size();
  const std::string version = node.op_type() + "-" + std::to_string(schema.since_opset);
  if (inputs < schema.min_inputs || inputs > schema.max_inputs) {
    return InvalidArgument("has " + std::to_string(inputs) + " inputs; " + version + " takes " +
                           std::to_string(schema.min_inputs) + " to " + std::to_string(schema.max_inputs));
  }
  if (outputs < schema.min_outputs || (schema.max_outputs >= 0 && outputs > schema.max_outputs)) {
    return InvalidArgument("has " + std::to_string(outputs) + " outputs; " + version + " makes " +
                           std::to_string(schema.min_outputs) + " to " +
                           (schema.max_outputs >= 0 ? std::to_string(schema.max_outputs) : std::string("any")));
  }
  for (int slot : schema.required_inputs) {
    if (slot < inputs && node.input(slot).empty()) {
      return InvalidArgument("required input " + std::to_string(slot) + " of " + version + " is empty");
    }
  }
  for (const auto& a : node.attribute()) {
    if (std::find(schema.attributes.begin(), schema.attributes.end(), a.name()) == schema.attributes.end()) {
      return InvalidArgument("attribute '" + a.name() + "' is not an attribute of " + version);
    }
  }
  for (const std::string& name : schema.required_attributes) {
    bool present = false;
    for (const auto& a : node.attribute()) present |= a.name() == name;
    if (!present) return InvalidArgument("required attribute '" + name + "' of " + version + " is missing");
  }
  return Status::Ok();
}

}  // namespace

Status CheckNodeAgainstSchema(const onnx::NodeProto& node, const std::string& domain, int opset) {
  if (domain.empty()) {
    const NewerOpSchema* newer = FindNewerOpSchema(node.op_type(), opset);
    if (newer != nullptr) return CheckAgainstNewerSchema(node, *newer);
  }
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
