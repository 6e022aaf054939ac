// Decoding and encoding of KServe v2 inference messages (see infer_codec.h).
#include "serve/http/infer_codec.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "serve/http/tensor_codec.h"
#include "serve/kserve_datatype.h"

namespace tessera::serve::http {

namespace {

using nlohmann::json;

StatusOr<bool> OptionalBool(const json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end()) return false;
  if (!it->is_boolean()) return InvalidArgument(where + "'" + key + "' must be true or false");
  return it->get<bool>();
}

StatusOr<Shape> ParseShape(const json& input, const std::string& where) {
  auto it = input.find("shape");
  if (it == input.end() || !it->is_array()) return InvalidArgument(where + "'shape' must be an array of integers");
  Shape shape;
  for (const json& d : *it) {
    if (!d.is_number_integer() || (d.is_number_integer() && !d.is_number_unsigned() && d.get<int64_t>() < 0)) {
      return InvalidArgument(where + "'shape' must hold non-negative integers, got " + it->dump());
    }
    shape.push_back(d.get<int64_t>());
  }
  if (ShapeElementCount(shape) < 0) return InvalidArgument(where + "shape " + ShapeToString(shape) + " is too large");
  return shape;
}

// One entry of `inputs` (or of a response's `outputs`: `field` names which); `binary` is the message's binary
// section, `offset` where this tensor's part starts.
StatusOr<NamedTensor> ParseInput(const json& input, size_t index, std::string_view binary, size_t& offset,
                                 const char* field = "inputs") {
  std::string where = std::string(field) + "[" + std::to_string(index) + "]: ";
  if (!input.is_object()) return InvalidArgument(where + "must be an object");
  auto name = input.find("name");
  if (name == input.end() || !name->is_string()) return InvalidArgument(where + "'name' must be a string");
  const char* kind = std::string_view(field) == "outputs" ? "output '" : "input '";
  const std::string label = kind + name->get<std::string>() + "'";
  where = label + ": ";
  auto datatype = input.find("datatype");
  if (datatype == input.end() || !datatype->is_string()) return InvalidArgument(where + "'datatype' must be a string");
  auto dtype = DTypeFromKServe(datatype->get<std::string>());
  if (!dtype.ok()) return dtype.status().WithContext(label);
  TS_ASSIGN_OR_RETURN(Shape shape, ParseShape(input, where));

  NamedTensor out{name->get<std::string>(), {}};
  auto params = input.find("parameters");
  if (params != input.end() && !params->is_object()) return InvalidArgument(where + "'parameters' must be an object");
  const json* size = nullptr;
  if (params != input.end() && params->contains("binary_data_size")) size = &(*params)["binary_data_size"];
  if (size != nullptr) {
    if (!size->is_number_unsigned())
      return InvalidArgument(where + "'binary_data_size' must be a non-negative integer");
    if (input.contains("data")) return InvalidArgument(where + "has both 'data' and 'binary_data_size'");
    const uint64_t n = size->get<uint64_t>();
    if (n > binary.size() - offset) {
      return InvalidArgument(where + "'binary_data_size' " + std::to_string(n) + " runs past the end of the body (" +
                             std::to_string(binary.size() - offset) + " binary bytes left)");
    }
    TS_ASSIGN_OR_RETURN(out.tensor, TensorFromBinary(binary.substr(offset, n), *dtype, shape, out.name));
    offset += n;
    return out;
  }
  auto data = input.find("data");
  if (data == input.end()) return InvalidArgument(where + "has neither 'data' nor parameters.binary_data_size");
  TS_ASSIGN_OR_RETURN(out.tensor, TensorFromJsonData(*data, *dtype, shape, out.name));
  return out;
}

Status ParseOutputs(const json& outputs, DecodedInferRequest& decoded) {
  if (!outputs.is_array()) return InvalidArgument("'outputs' must be an array");
  for (size_t i = 0; i < outputs.size(); ++i) {
    const json& o = outputs[i];
    const std::string where = "outputs[" + std::to_string(i) + "]: ";
    if (!o.is_object() || !o.contains("name") || !o["name"].is_string()) {
      return InvalidArgument(where + "must be an object with a string 'name'");
    }
    const std::string name = o["name"].get<std::string>();
    if (decoded.encoding.binary_by_name.count(name) != 0)
      return InvalidArgument("output '" + name + "' is requested twice");
    auto params = o.find("parameters");
    bool binary = decoded.encoding.binary_by_default;
    if (params != o.end()) {
      if (!params->is_object()) return InvalidArgument(where + "'parameters' must be an object");
      if (params->contains("binary_data")) {
        TS_ASSIGN_OR_RETURN(binary, OptionalBool(*params, "binary_data", "output '" + name + "': "));
      }
    }
    decoded.encoding.binary_by_name[name] = binary;
    decoded.request.requested_outputs.push_back(name);
  }
  return Status::Ok();
}

}  // namespace

// The JSON part and the binary part of a message whose JSON is `json_length` bytes long (all JSON if absent).
StatusOr<json> SplitAndParse(std::string_view body, std::optional<size_t> json_length, std::string_view& binary,
                             const char* what) {
  std::string_view text = body;
  if (json_length) {
    if (*json_length > body.size()) {
      return InvalidArgument("Inference-Header-Content-Length " + std::to_string(*json_length) +
                             " is larger than the body (" + std::to_string(body.size()) + " bytes)");
    }
    text = body.substr(0, *json_length);
    binary = body.substr(*json_length);
  }
  json root;
  try {
    root = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    return InvalidArgument(std::string(what) + " body is not valid JSON: " + e.what());
  }
  if (!root.is_object()) return InvalidArgument(std::string(what) + " body must be a JSON object");
  return root;
}

Status CheckBinaryUsed(std::string_view binary, size_t offset, const char* who) {
  if (offset == binary.size()) return Status::Ok();
  return InvalidArgument("the body has " + std::to_string(binary.size() - offset) + " bytes of binary data that no " +
                         who + "'s binary_data_size accounts for");
}

json TensorEntry(const NamedTensor& t, bool binary_data, std::string& binary) {
  json entry = {{"name", t.name}, {"datatype", KServeDatatype(t.tensor.dtype())}, {"shape", t.tensor.shape()}};
  if (binary_data) {
    entry["parameters"] = {{"binary_data_size", AppendTensorBinary(t.tensor, binary)}};
  } else {
    entry["data"] = TensorToJsonData(t.tensor);
  }
  return entry;
}

StatusOr<DecodedInferRequest> DecodeInferRequest(std::string_view body, std::optional<size_t> json_length,
                                                 const std::string& model, const std::string& version) {
  std::string_view binary;
  TS_ASSIGN_OR_RETURN(json root, SplitAndParse(body, json_length, binary, "request"));

  DecodedInferRequest decoded;
  InferRequest& request = decoded.request;
  request.model_name = model;
  request.model_version = version;
  if (auto id = root.find("id"); id != root.end()) {
    if (!id->is_string()) return InvalidArgument("'id' must be a string");
    request.id = id->get<std::string>();
  }
  if (auto params = root.find("parameters"); params != root.end()) {
    if (!params->is_object()) return InvalidArgument("'parameters' must be an object");
    TS_ASSIGN_OR_RETURN(decoded.encoding.binary_by_default,
                        OptionalBool(*params, "binary_data_output", "parameters: "));
  }
  auto inputs = root.find("inputs");
  if (inputs == root.end() || !inputs->is_array()) return InvalidArgument("'inputs' must be an array");
  size_t offset = 0;
  std::set<std::string> seen;
  for (size_t i = 0; i < inputs->size(); ++i) {
    TS_ASSIGN_OR_RETURN(NamedTensor t, ParseInput((*inputs)[i], i, binary, offset));
    if (!seen.insert(t.name).second) return InvalidArgument("input '" + t.name + "' is given twice");
    request.inputs.push_back(std::move(t));
  }
  TS_RETURN_IF_ERROR(CheckBinaryUsed(binary, offset, "input"));
  if (auto outputs = root.find("outputs"); outputs != root.end()) TS_RETURN_IF_ERROR(ParseOutputs(*outputs, decoded));
  return decoded;
}

EncodedInferResponse EncodeInferResponse(const InferResponse& response, const OutputEncoding& encoding) {
  json root = json::object();
  root["model_name"] = response.model_name;
  root["model_version"] = response.model_version;
  if (!response.id.empty()) root["id"] = response.id;
  json outputs = json::array();
  std::string binary;
  for (const NamedTensor& o : response.outputs) outputs.push_back(TensorEntry(o, encoding.Binary(o.name), binary));
  root["outputs"] = std::move(outputs);
  EncodedInferResponse encoded;
  encoded.body = root.dump(-1, ' ', false, json::error_handler_t::replace);
  if (!binary.empty() || std::any_of(response.outputs.begin(), response.outputs.end(),
                                     [&](const NamedTensor& o) { return encoding.Binary(o.name); })) {
    encoded.json_length = encoded.body.size();
    encoded.body += binary;
  }
  return encoded;
}

EncodedInferRequest EncodeInferRequest(const InferRequest& request) {
  json root = json::object();
  if (!request.id.empty()) root["id"] = request.id;
  root["parameters"] = {{"binary_data_output", true}};
  json inputs = json::array();
  std::string binary;
  for (const NamedTensor& t : request.inputs) inputs.push_back(TensorEntry(t, true, binary));
  root["inputs"] = std::move(inputs);
  if (!request.requested_outputs.empty()) {
    json outputs = json::array();
    for (const std::string& name : request.requested_outputs) outputs.push_back({{"name", name}});
    root["outputs"] = std::move(outputs);
  }
  EncodedInferRequest encoded;
  encoded.body = root.dump(-1, ' ', false, json::error_handler_t::replace);
  encoded.json_length = encoded.body.size();
  encoded.body += binary;
  return encoded;
}

StatusOr<InferResponse> DecodeInferResponse(std::string_view body, std::optional<size_t> json_length) {
  std::string_view binary;
  TS_ASSIGN_OR_RETURN(json root, SplitAndParse(body, json_length, binary, "response"));
  InferResponse response;
  for (auto [key, field] : {std::pair{"model_name", &response.model_name},
                            std::pair{"model_version", &response.model_version}, std::pair{"id", &response.id}}) {
    auto it = root.find(key);
    if (it == root.end()) continue;
    if (!it->is_string()) return InvalidArgument(std::string("response '") + key + "' must be a string");
    *field = it->get<std::string>();
  }
  auto outputs = root.find("outputs");
  if (outputs == root.end() || !outputs->is_array()) return InvalidArgument("response 'outputs' must be an array");
  size_t offset = 0;
  for (size_t i = 0; i < outputs->size(); ++i) {
    TS_ASSIGN_OR_RETURN(NamedTensor t, ParseInput((*outputs)[i], i, binary, offset, "outputs"));
    response.outputs.push_back(std::move(t));
  }
  TS_RETURN_IF_ERROR(CheckBinaryUsed(binary, offset, "output"));
  return response;
}

}  // namespace tessera::serve::http
