// The routing server (replica_service.h): each InferenceService call as an HTTP request to a replica.
#include "serve/replicas/replica_service.h"

#include <charconv>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>

#include "serve/http/http_status.h"
#include "serve/http/infer_codec.h"
#include "serve/http/metadata_codec.h"
#include "serve/http/openai_codec.h"
#include "serve/openai_relay.h"
#include "serve/replicas/replica_metrics.h"
#include "serve/replicas/replica_router.h"
#include "serve/replicas/replica_stream.h"

namespace tessera::serve::replicas {

namespace {

constexpr const char* kJson = "application/json";

// A path segment with every byte but RFC 3986's unreserved ones percent-encoded.
std::string Segment(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

std::string ModelPath(const std::string& name, const std::string& version) {
  return "/v2/models/" + Segment(name) + (version.empty() ? "" : "/versions/" + Segment(version));
}

std::string ModelLabel(const std::string& name, const std::string& version) {
  return "model '" + name + "'" + (version.empty() ? "" : " version " + version);
}

// The Status a replica's error answer stands for, with its own message.
Status ReplyStatus(const ReplicaReply& reply) {
  return Status(http::StatusCodeForHttp(reply.status), http::DecodeErrorMessage(reply.body));
}

class ReplicaService : public InferenceServer, public OpenAiRelay {
 public:
  explicit ReplicaService(std::unique_ptr<ReplicaSet> replicas) : set_(std::move(replicas)), router_(*set_) {}
  ~ReplicaService() override { Drain(); }

  bool Live() const override { return true; }
  bool Ready() const override { return !draining_.load() && set_->healthy() > 0; }

  ServerMetadata GetServerMetadata() const override {
    auto reply = Send("server metadata", [](ReplicaTransport& t) { return t.Get("/v2"); });
    if (reply.ok() && reply->status == 200) {
      auto m = http::DecodeServerMetadata(reply->body);
      if (m.ok()) return *m;
    }
    return ServerMetadata();
  }

  StatusOr<bool> ModelReady(const std::string& name, const std::string& version) const override {
    const std::string path = ModelPath(name, version) + "/ready";
    TS_ASSIGN_OR_RETURN(ReplicaReply reply, Send("readiness of " + ModelLabel(name, version),
                                                 [&](ReplicaTransport& t) { return t.Get(path); }));
    if (reply.status == 200) return true;
    // A model that is not ready answers 503 with {"name", "ready": false}; other 503s are errors.
    const nlohmann::json body = nlohmann::json::parse(reply.body, nullptr, false);
    if (reply.status == 503 && body.is_object() && body.contains("ready")) return false;
    return ReplyStatus(reply);
  }

  StatusOr<ModelMetadata> GetModelMetadata(const std::string& name, const std::string& version) const override {
    const std::string path = ModelPath(name, version);
    TS_ASSIGN_OR_RETURN(ReplicaReply reply, Send("metadata of " + ModelLabel(name, version),
                                                 [&](ReplicaTransport& t) { return t.Get(path); }));
    if (reply.status != 200) return ReplyStatus(reply);
    return http::DecodeModelMetadata(reply.body);
  }

  std::vector<RepositoryEntry> RepositoryIndex() const override {
    auto reply = Send("the repository index",
                      [](ReplicaTransport& t) { return t.Post("/v2/repository/index", "{}", kJson, {}); });
    if (!reply.ok() || reply->status != 200) return {};
    auto entries = http::DecodeRepositoryIndex(reply->body);
    return entries.ok() ? *entries : std::vector<RepositoryEntry>();
  }

  Status LoadModel(const std::string& name) override { return OnEveryReplica(name, "load"); }
  Status UnloadModel(const std::string& name) override { return OnEveryReplica(name, "unload"); }

  StatusOr<InferResponse> Infer(InferRequest request) override {
    InFlight in_flight(*this);
    if (draining_.load()) return Unavailable("the server is shutting down");
    const std::string what = "inference of " + ModelLabel(request.model_name, request.model_version);
    const std::string path = ModelPath(request.model_name, request.model_version) + "/infer";
    const http::EncodedInferRequest encoded = http::EncodeInferRequest(request);
    const ReplicaHeaders headers = {{"Inference-Header-Content-Length", std::to_string(encoded.json_length)}};
    TS_ASSIGN_OR_RETURN(ReplicaReply reply, Send(what, [&](ReplicaTransport& t) {
                          return t.Post(path, encoded.body, "application/octet-stream", headers);
                        }));
    if (reply.status != 200) return ReplyStatus(reply);
    std::optional<size_t> json_length;
    if (!reply.json_length.empty()) {
      size_t n = 0;
      const char* end = reply.json_length.data() + reply.json_length.size();
      if (std::from_chars(reply.json_length.data(), end, n).ptr != end) {
        return Internal("a replica's answer to " + what + " has a bad Inference-Header-Content-Length");
      }
      json_length = n;
    }
    auto response = http::DecodeInferResponse(reply.body, json_length);
    if (!response.ok()) {
      return Internal("a replica's answer to " + what + " is malformed: " + response.status().message());
    }
    return response;
  }

  std::string MetricsText() const override { return RenderReplicaMetrics(set_->Statuses(), set_->retries()); }
  std::vector<ReplicaStatus> Replicas() const override { return set_->Statuses(); }
  OpenAiRelay* openai_relay() override { return this; }

  void Drain() override {
    draining_.store(true);
    std::unique_lock<std::mutex> lock(mu_);
    idle_cv_.wait(lock, [this] { return in_flight_ == 0; });
  }

  // OpenAiRelay.
  RelayedAnswer Get(const std::string& path) override {
    return Relayed(Send("GET " + path, [&](ReplicaTransport& t) { return t.Get(path); }));
  }
  RelayedAnswer Post(const std::string& path, const std::string& body) override {
    InFlight in_flight(*this);
    return Relayed(Send("a completion", [&](ReplicaTransport& t) { return t.Post(path, body, kJson, {}); }));
  }
  Opened OpenStream(const std::string& path, const std::string& body) override {
    return OpenReplicaStream(*set_, path, body);
  }

 private:
  // Counts a request that Drain waits for.
  struct InFlight {
    explicit InFlight(ReplicaService& s) : service(s) {
      std::lock_guard<std::mutex> lock(s.mu_);
      ++s.in_flight_;
    }
    ~InFlight() {
      std::lock_guard<std::mutex> lock(service.mu_);
      if (--service.in_flight_ == 0) service.idle_cv_.notify_all();
    }
    ReplicaService& service;
  };

  StatusOr<ReplicaReply> Send(const std::string& what, const ReplicaRouter::Attempt& attempt) const {
    return router_.Send(what, attempt);
  }

  static RelayedAnswer Relayed(const StatusOr<ReplicaReply>& reply) {
    if (!reply.ok()) {
      return {503, kJson, http::EncodeOpenAiError(503, reply.status().message(), "", "server_busy")};
    }
    return {reply->status, reply->content_type.empty() ? kJson : reply->content_type, reply->body};
  }

  // Load or unload on every healthy replica: the first failure is the answer.
  Status OnEveryReplica(const std::string& name, const std::string& action) {
    const std::string path = "/v2/repository/models/" + Segment(name) + "/" + action;
    const std::vector<ReplicaStatus> replicas = set_->Statuses();
    size_t reached = 0;
    for (size_t i = 0; i < replicas.size(); ++i) {
      if (!replicas[i].healthy) continue;
      ReplicaReply reply = set_->transport(i).Post(path, "{}", kJson, {});
      if (!reply.answered) {
        set_->MarkDown(i, reply.failure);
        continue;
      }
      ++reached;
      if (reply.status != 200) return ReplyStatus(reply).WithContext(replicas[i].url);
    }
    if (reached == 0) return NoHealthyReplica(*set_, action + " of model '" + name + "'", "");
    return Status::Ok();
  }

  std::unique_ptr<ReplicaSet> set_;
  mutable ReplicaRouter router_;
  std::atomic<bool> draining_{false};
  std::mutex mu_;
  std::condition_variable idle_cv_;
  int64_t in_flight_ = 0;
};

}  // namespace

std::unique_ptr<InferenceServer> MakeReplicaService(std::unique_ptr<ReplicaSet> replicas) {
  return std::make_unique<ReplicaService>(std::move(replicas));
}

Status CheckReplicaUrls(const std::vector<std::string>& urls) {
  if (urls.empty()) return InvalidArgument("--replicas needs at least one http://HOST:PORT or https://HOST:PORT");
  for (size_t i = 0; i < urls.size(); ++i) {
    TS_RETURN_IF_ERROR(MakeHttpReplica(urls[i], {}).status());
    for (size_t j = 0; j < i; ++j) {
      if (urls[j] == urls[i]) return InvalidArgument("replica URL '" + urls[i] + "' is given twice");
    }
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<InferenceServer>> CreateReplicaService(const ReplicaServiceOptions& options) {
  TS_RETURN_IF_ERROR(CheckReplicaUrls(options.urls));
  std::vector<ReplicaSet::Member> members;
  for (const std::string& url : options.urls) {
    TS_ASSIGN_OR_RETURN(std::unique_ptr<ReplicaTransport> transport, MakeHttpReplica(url, options.http));
    members.push_back({url, std::move(transport)});
  }
  auto set = std::make_unique<ReplicaSet>(std::move(members));
  set->CheckHealth();
  set->StartHealthChecks(options.health_interval);
  return MakeReplicaService(std::move(set));
}

}  // namespace tessera::serve::replicas
