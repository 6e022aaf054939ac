// HttpReplica (http_replica.h): cpp-httplib clients to one worker, pooled.
#include "serve/replicas/http_replica.h"

#include <httplib.h>

#include <charconv>
#include <mutex>
#include <vector>

namespace tessera::serve::replicas {

namespace {

using Clock = std::chrono::steady_clock;

// cpp-httplib servers (Tessera's workers) close a kept-alive connection after 5 s idle; reuse stays below.
constexpr auto kIdleReuseLimit = std::chrono::seconds(2);
// Idle connections kept per replica; more requests in flight than this open connections of their own.
constexpr size_t kMaxIdleConnections = 128;

struct Endpoint {
  bool https = false;
  std::string host;
  int port = 0;
};

StatusOr<Endpoint> ParseUrl(const std::string& url) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("replica URL '" + url + "': " + why + " (expected http://HOST:PORT or https://HOST:PORT)");
  };
  Endpoint e;
  e.https = url.rfind("https://", 0) == 0;
  if (!e.https && url.rfind("http://", 0) != 0) return bad("the scheme must be http:// or https://");
  std::string rest = url.substr(e.https ? 8 : 7);
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad("no host and port");
  if (rest.find('/') != std::string::npos) return bad("a path is not allowed");
  e.host = rest.substr(0, colon);
  const std::string port = rest.substr(colon + 1);
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), e.port);
  if (ec != std::errc() || end != port.data() + port.size() || e.port <= 0 || e.port > 65535) {
    return bad("port '" + port + "' is not a number from 1 to 65535");
  }
  return e;
}

std::string Describe(httplib::Error error) { return "no answer (" + httplib::to_string(error) + ")"; }

class HttpReplica : public ReplicaTransport {
 public:
  HttpReplica(Endpoint endpoint, const HttpReplicaOptions& options)
      : endpoint_(std::move(endpoint)), options_(options), health_(NewClient(options.health_timeout)) {
    health_->set_connection_timeout(options.health_timeout);
  }

  ReplicaReply Get(const std::string& path) override {
    return WithClient([&](httplib::Client& c) { return c.Get(path.c_str()); });
  }

  ReplicaReply Post(const std::string& path, const std::string& body, const std::string& content_type,
                    const ReplicaHeaders& headers) override {
    httplib::Headers h(headers.begin(), headers.end());
    return WithClient([&](httplib::Client& c) { return c.Post(path.c_str(), h, body, content_type.c_str()); });
  }

  ReplicaReply PostStreaming(const std::string& path, const std::string& body,
                             const ReplicaStreamSink& sink) override {
    httplib::Request req;
    req.method = "POST";
    req.path = path;
    req.body = body;
    req.headers.emplace("Content-Type", "application/json");
    req.response_handler = [&](const httplib::Response& r) {
      return sink.on_answer(r.status, r.get_header_value("Content-Type"));
    };
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      return sink.on_data(std::string_view(data, n));
    };
    ReplicaReply reply = WithClient([&](httplib::Client& c) {
      if (sink.on_stoppable) sink.on_stoppable([&c] { c.stop(); });  // shuts the socket: the read fails
      httplib::Result r = c.send(req);
      if (sink.on_stoppable) sink.on_stoppable(nullptr);  // before the client goes back to the pool
      return r;
    });
    reply.body.clear();
    return reply;
  }

  bool Ready() override {
    std::lock_guard<std::mutex> lock(health_mu_);
    httplib::Result r = health_->Get("/v2/health/ready");
    return r && r->status == 200;
  }

  void DropConnections() override {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
    idle_.clear();
  }

 private:
  struct Pooled {
    std::unique_ptr<httplib::Client> client;
    Clock::time_point last_used;
    uint64_t generation = 0;
  };

  std::unique_ptr<httplib::Client> NewClient(std::chrono::milliseconds read_timeout) const {
    std::unique_ptr<httplib::Client> c;
    if (endpoint_.https) {
      const ReplicaTlsFiles& tls = options_.tls;
      c = std::make_unique<httplib::Client>("https://" + endpoint_.host + ":" + std::to_string(endpoint_.port),
                                            tls.cert_file, tls.key_file);
      if (!tls.ca_file.empty()) c->set_ca_cert_path(tls.ca_file.c_str());
      c->enable_server_certificate_verification(true);  // and the host name against the certificate
    } else {
      c = std::make_unique<httplib::Client>(endpoint_.host, endpoint_.port);
    }
    c->set_keep_alive(true);
    c->set_tcp_nodelay(true);
    c->set_connection_timeout(options_.connect_timeout);
    c->set_read_timeout(read_timeout);
    c->set_write_timeout(read_timeout);
    return c;
  }

  Pooled Take() {
    std::lock_guard<std::mutex> lock(mu_);
    while (!idle_.empty()) {
      Pooled p = std::move(idle_.back());
      idle_.pop_back();
      if (Clock::now() - p.last_used < kIdleReuseLimit) return p;
    }
    return {NewClient(options_.read_timeout), Clock::now(), generation_};  // connects on first use
  }

  void Give(Pooled p) {
    std::lock_guard<std::mutex> lock(mu_);
    if (p.generation != generation_ || idle_.size() >= kMaxIdleConnections) return;
    p.last_used = Clock::now();
    idle_.push_back(std::move(p));
  }

  template <typename Call>
  ReplicaReply WithClient(Call call) {
    Pooled p = Take();
    httplib::Result r = call(*p.client);
    if (!r) return ReplicaReply::NoAnswer(Describe(r.error()));  // the connection is dropped with `p`
    ReplicaReply reply;
    reply.answered = true;
    reply.status = r->status;
    reply.content_type = r->get_header_value("Content-Type");
    reply.json_length = r->get_header_value("Inference-Header-Content-Length");
    reply.body = std::move(r->body);
    Give(std::move(p));
    return reply;
  }

  const Endpoint endpoint_;
  const HttpReplicaOptions options_;
  std::mutex mu_;
  std::vector<Pooled> idle_;
  uint64_t generation_ = 0;
  std::mutex health_mu_;
  std::unique_ptr<httplib::Client> health_;
};

}  // namespace

StatusOr<std::unique_ptr<ReplicaTransport>> MakeHttpReplica(const std::string& url, const HttpReplicaOptions& options) {
  TS_ASSIGN_OR_RETURN(Endpoint endpoint, ParseUrl(url));
  return std::unique_ptr<ReplicaTransport>(std::make_unique<HttpReplica>(std::move(endpoint), options));
}

}  // namespace tessera::serve::replicas
