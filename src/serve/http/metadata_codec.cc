// JSON for metadata, repository and error bodies (see metadata_codec.h).
#include "serve/http/metadata_codec.h"

#include <nlohmann/json.hpp>

#include "serve/kserve_datatype.h"

namespace tessera::serve::http {

namespace {

using nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json TensorsJson(const std::vector<TensorMetadata>& tensors) {
  json out = json::array();
  for (const TensorMetadata& t : tensors) {
    out.push_back({{"name", t.name}, {"datatype", KServeDatatype(t.dtype)}, {"shape", t.shape}});
  }
  return out;
}

StatusOr<json> ParseBody(const std::string& body, const char* what) {
  try {
    return json::parse(body);
  } catch (const json::exception& e) {
    return InvalidArgument(std::string(what) + " is not valid JSON: " + e.what());
  }
}

// `object[key]` as a string into `out`; absent leaves `out` as it is.
Status ReadString(const json& object, const char* key, std::string& out, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end()) return Status::Ok();
  if (!it->is_string()) return InvalidArgument(where + ": '" + key + "' must be a string");
  out = it->get<std::string>();
  return Status::Ok();
}

Status ReadStrings(const json& object, const char* key, std::vector<std::string>& out, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end()) return Status::Ok();
  if (!it->is_array()) return InvalidArgument(where + ": '" + key + "' must be an array of strings");
  for (const json& v : *it) {
    if (!v.is_string()) return InvalidArgument(where + ": '" + key + "' must be an array of strings");
    out.push_back(v.get<std::string>());
  }
  return Status::Ok();
}

Status ReadTensors(const json& object, const char* key, std::vector<TensorMetadata>& out) {
  auto it = object.find(key);
  if (it == object.end()) return Status::Ok();
  const std::string where = std::string("model metadata '") + key + "'";
  if (!it->is_array()) return InvalidArgument(where + " must be an array");
  for (const json& t : *it) {
    if (!t.is_object()) return InvalidArgument(where + " must hold objects");
    TensorMetadata m;
    std::string datatype;
    TS_RETURN_IF_ERROR(ReadString(t, "name", m.name, where));
    TS_RETURN_IF_ERROR(ReadString(t, "datatype", datatype, where));
    TS_ASSIGN_OR_RETURN(m.dtype, DTypeFromKServe(datatype));
    auto shape = t.find("shape");
    if (shape == t.end() || !shape->is_array()) return InvalidArgument(where + ": 'shape' must be an array");
    for (const json& d : *shape) {
      if (!d.is_number_integer()) return InvalidArgument(where + ": 'shape' must hold integers");
      m.shape.push_back(d.get<int64_t>());
    }
    out.push_back(std::move(m));
  }
  return Status::Ok();
}

}  // namespace

std::string EncodeServerMetadata(const ServerMetadata& m) {
  return Dump({{"name", m.name}, {"version", m.version}, {"extensions", m.extensions}});
}

std::string EncodeModelMetadata(const ModelMetadata& m) {
  return Dump({{"name", m.name},
               {"versions", m.versions},
               {"platform", m.platform},
               {"inputs", TensorsJson(m.inputs)},
               {"outputs", TensorsJson(m.outputs)}});
}

std::string EncodeRepositoryIndex(const std::vector<RepositoryEntry>& entries) {
  json out = json::array();
  for (const RepositoryEntry& e : entries) {
    json row = {{"name", e.name}, {"state", e.state}};
    if (!e.version.empty()) row["version"] = e.version;
    if (!e.reason.empty()) row["reason"] = e.reason;
    out.push_back(std::move(row));
  }
  return Dump(out);
}

StatusOr<bool> DecodeRepositoryIndexRequest(const std::string& body) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return false;
  json root;
  try {
    root = json::parse(body);
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("repository index request is not valid JSON: ") + e.what());
  }
  if (!root.is_object()) return InvalidArgument("repository index request must be a JSON object");
  auto ready = root.find("ready");
  if (ready == root.end()) return false;
  if (!ready->is_boolean()) return InvalidArgument("'ready' must be true or false");
  return ready->get<bool>();
}

std::string EncodeModelReady(const std::string& model, bool ready) { return Dump({{"name", model}, {"ready", ready}}); }

std::string EncodeReplicas(const std::vector<ReplicaStatus>& replicas) {
  json rows = json::array();
  size_t healthy = 0;
  for (const ReplicaStatus& r : replicas) {
    healthy += r.healthy ? 1 : 0;
    json row = {{"url", r.url}, {"state", r.healthy ? "UP" : "DOWN"}, {"outstanding", r.outstanding},
                {"requests", r.requests}, {"failures", r.failures}};
    if (!r.last_failure.empty()) row["last_failure"] = r.last_failure;
    rows.push_back(std::move(row));
  }
  return Dump({{"healthy", healthy}, {"total", replicas.size()}, {"replicas", std::move(rows)}});
}

std::string EncodeError(const std::string& message) { return Dump({{"error", message}}); }

StatusOr<ServerMetadata> DecodeServerMetadata(const std::string& body) {
  TS_ASSIGN_OR_RETURN(json root, ParseBody(body, "server metadata"));
  if (!root.is_object()) return InvalidArgument("server metadata must be a JSON object");
  ServerMetadata m;
  TS_RETURN_IF_ERROR(ReadString(root, "name", m.name, "server metadata"));
  TS_RETURN_IF_ERROR(ReadString(root, "version", m.version, "server metadata"));
  TS_RETURN_IF_ERROR(ReadStrings(root, "extensions", m.extensions, "server metadata"));
  return m;
}

StatusOr<ModelMetadata> DecodeModelMetadata(const std::string& body) {
  TS_ASSIGN_OR_RETURN(json root, ParseBody(body, "model metadata"));
  if (!root.is_object()) return InvalidArgument("model metadata must be a JSON object");
  ModelMetadata m;
  TS_RETURN_IF_ERROR(ReadString(root, "name", m.name, "model metadata"));
  TS_RETURN_IF_ERROR(ReadStrings(root, "versions", m.versions, "model metadata"));
  TS_RETURN_IF_ERROR(ReadString(root, "platform", m.platform, "model metadata"));
  TS_RETURN_IF_ERROR(ReadTensors(root, "inputs", m.inputs));
  TS_RETURN_IF_ERROR(ReadTensors(root, "outputs", m.outputs));
  return m;
}

StatusOr<std::vector<RepositoryEntry>> DecodeRepositoryIndex(const std::string& body) {
  TS_ASSIGN_OR_RETURN(json root, ParseBody(body, "repository index"));
  if (!root.is_array()) return InvalidArgument("repository index must be a JSON array");
  std::vector<RepositoryEntry> entries;
  for (const json& row : root) {
    if (!row.is_object()) return InvalidArgument("repository index rows must be objects");
    RepositoryEntry e;
    TS_RETURN_IF_ERROR(ReadString(row, "name", e.name, "repository index"));
    TS_RETURN_IF_ERROR(ReadString(row, "version", e.version, "repository index"));
    TS_RETURN_IF_ERROR(ReadString(row, "state", e.state, "repository index"));
    TS_RETURN_IF_ERROR(ReadString(row, "reason", e.reason, "repository index"));
    entries.push_back(std::move(e));
  }
  return entries;
}

std::string DecodeErrorMessage(const std::string& body) {
  json root = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (root.is_object() && root.contains("error") && root["error"].is_string()) return root["error"].get<std::string>();
  return body.substr(0, 300);
}

}  // namespace tessera::serve::http
