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

std::string EncodeError(const std::string& message) { return Dump({{"error", message}}); }

}  // namespace tessera::serve::http
