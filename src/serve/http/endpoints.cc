// Endpoint handlers of the REST front end (see endpoints.h and docs/serving.md).
#include "serve/http/endpoints.h"

#include <charconv>

#include "serve/http/http_status.h"
#include "serve/http/infer_codec.h"
#include "serve/http/metadata_codec.h"
#include "serve/http/openai_endpoints.h"
#include "serve/http/request_log.h"

namespace tessera::serve::http {

namespace {

constexpr const char* kJson = "application/json";
constexpr const char* kBinaryLengthHeader = "Inference-Header-Content-Length";
// A model, optionally one version of it: matches[1] is the name, matches[2] the version ("" if absent).
constexpr const char* kModelPath = R"(/v2/models/([^/]+)(?:/versions/([^/]+))?)";

std::string Model(const httplib::Request& req) { return req.matches[1].str(); }
std::string Version(const httplib::Request& req) { return req.matches.size() > 2 ? req.matches[2].str() : ""; }

void ReplyJson(httplib::Response& res, int http_status, const std::string& body) {
  res.status = http_status;
  res.set_content(body, kJson);
}

StatusOr<std::optional<size_t>> BinaryHeaderLength(const httplib::Request& req) {
  if (!req.has_header(kBinaryLengthHeader)) return std::optional<size_t>();
  const std::string v = req.get_header_value(kBinaryLengthHeader);
  size_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || v.empty()) {
    return InvalidArgument(std::string(kBinaryLengthHeader) + " must be a non-negative integer, got '" + v + "'");
  }
  return std::optional<size_t>(n);
}

void Infer(InferenceService& service, const httplib::Request& req, httplib::Response& res) {
  RequestLogContext& log = CurrentRequestLog();
  log.model = Model(req);
  auto json_length = BinaryHeaderLength(req);
  if (!json_length.ok()) return ReplyError(res, json_length.status());
  auto decoded = DecodeInferRequest(req.body, *json_length, Model(req), Version(req));
  if (!decoded.ok()) return ReplyError(res, decoded.status().WithContext("model '" + Model(req) + "'"));
  if (!decoded->request.id.empty()) log.request_id = decoded->request.id;
  auto response = service.Infer(std::move(decoded->request));
  if (!response.ok()) return ReplyError(res, response.status());
  EncodedInferResponse encoded = EncodeInferResponse(*response, decoded->encoding);
  res.status = 200;
  if (encoded.json_length) {
    res.set_header(kBinaryLengthHeader, std::to_string(*encoded.json_length));
    res.set_content(std::move(encoded.body), "application/octet-stream");
  } else {
    res.set_content(std::move(encoded.body), kJson);
  }
}

// Wraps a handler so that a refusal decided at admission (see RequestLogContext) is answered instead.
// Every endpoint is wrapped, whatever its method: a GET may carry a body too.
httplib::Server::Handler Admitted(httplib::Server::Handler handler) {
  return [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
    RequestLogContext& context = CurrentRequestLog();
    if (context.refused_status != 0) {
      if (context.refused_status == 401) res.set_header("WWW-Authenticate", "Bearer");
      return ReplyError(res, context.refused_status, context.refused_message);
    }
    handler(req, res);
  };
}

void RegisterHealthAndMetadata(httplib::Server& server, InferenceService& service) {
  server.Get("/v2/health/live", Admitted([&service](const httplib::Request&, httplib::Response& res) {
               const bool live = service.Live();
               ReplyJson(res, live ? 200 : 503, std::string("{\"live\":") + (live ? "true" : "false") + "}");
             }));
  server.Get("/v2/health/ready", Admitted([&service](const httplib::Request&, httplib::Response& res) {
               const bool ready = service.Ready();
               ReplyJson(res, ready ? 200 : 503, std::string("{\"ready\":") + (ready ? "true" : "false") + "}");
             }));
  server.Get("/v2", Admitted([&service](const httplib::Request&, httplib::Response& res) {
               ReplyJson(res, 200, EncodeServerMetadata(service.GetServerMetadata()));
             }));
  server.Get(kModelPath, Admitted([&service](const httplib::Request& req, httplib::Response& res) {
               CurrentRequestLog().model = Model(req);
               auto metadata = service.GetModelMetadata(Model(req), Version(req));
               if (!metadata.ok()) return ReplyError(res, metadata.status());
               ReplyJson(res, 200, EncodeModelMetadata(*metadata));
             }));
  server.Get(std::string(kModelPath) + "/ready",
             Admitted([&service](const httplib::Request& req, httplib::Response& res) {
               CurrentRequestLog().model = Model(req);
               auto ready = service.ModelReady(Model(req), Version(req));
               if (!ready.ok()) return ReplyError(res, ready.status());
               ReplyJson(res, *ready ? 200 : 503, EncodeModelReady(Model(req), *ready));
             }));
  server.Get("/v2/replicas", Admitted([&service](const httplib::Request&, httplib::Response& res) {
               const std::vector<ReplicaStatus> replicas = service.Replicas();
               if (replicas.empty()) {
                 return ReplyError(res, 404, "this server runs its own models and routes to no replicas "
                                             "(see tessera serve --replicas)");
               }
               ReplyJson(res, 200, EncodeReplicas(replicas));
             }));
  server.Get("/metrics", Admitted([&service](const httplib::Request&, httplib::Response& res) {
               res.status = 200;
               res.set_content(service.MetricsText(), "text/plain; version=0.0.4");
             }));
}

void RegisterRepository(httplib::Server& server, InferenceService& service) {
  server.Post("/v2/repository/index", Admitted([&service](const httplib::Request& req, httplib::Response& res) {
                auto ready_only = DecodeRepositoryIndexRequest(req.body);
                if (!ready_only.ok()) return ReplyError(res, ready_only.status());
                std::vector<RepositoryEntry> entries = service.RepositoryIndex();
                if (*ready_only) {
                  std::erase_if(entries, [](const RepositoryEntry& e) { return e.state != "READY"; });
                }
                ReplyJson(res, 200, EncodeRepositoryIndex(entries));
              }));
  server.Post(R"(/v2/repository/models/([^/]+)/(load|unload))",
              Admitted([&service](const httplib::Request& req, httplib::Response& res) {
                CurrentRequestLog().model = Model(req);
                const bool load = req.matches[2].str() == "load";
                Status status = load ? service.LoadModel(Model(req)) : service.UnloadModel(Model(req));
                if (!status.ok()) return ReplyError(res, status);
                ReplyJson(res, 200, "{}");
              }));
}

}  // namespace

void ReplyError(httplib::Response& res, int http_status, const std::string& message) {
  ReplyJson(res, http_status, EncodeError(message));
}

void ReplyError(httplib::Response& res, const Status& status) {
  ReplyError(res, HttpStatusFor(status.code()), status.message());
}

void RegisterEndpoints(httplib::Server& server, InferenceService& service) {
  RegisterHealthAndMetadata(server, service);
  RegisterRepository(server, service);
  RegisterOpenAiEndpoints(server, service);
  server.Post(std::string(kModelPath) + "/infer",
              Admitted([&service](const httplib::Request& req, httplib::Response& res) { Infer(service, req, res); }));
}

}  // namespace tessera::serve::http
