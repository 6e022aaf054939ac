// The HTTP/REST front end: a cpp-httplib server (plain or TLS) that admits requests (bearer token, body
// size), serves the endpoints of endpoints.h, logs each request and shuts down gracefully.
#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <charconv>
#include <filesystem>
#include <optional>
#include <thread>

#include "serve/front_end.h"
#include "serve/http/bearer_token.h"
#include "serve/http/endpoints.h"
#include "serve/http/request_log.h"

namespace tessera::serve {

namespace {

// Each connection holds a worker for as long as it is kept alive (cpp-httplib serves a connection on one
// thread), and inference handlers block while the server batches: the pool must cover the clients that
// are meant to be batched together. Idle workers cost only their stacks.
constexpr size_t kWorkerThreads = 128;
// Requests per kept-alive connection before it is closed (cpp-httplib's default of 5 makes load
// generators reconnect constantly).
constexpr size_t kKeepAliveMaxRequests = 10000;

// Whether a Content-Length value is at most `limit`; an unparsable one (cpp-httplib answers 400 for it
// later) passes here, one too large for 64 bits does not.
bool FitsLimit(const std::string& content_length, size_t limit) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(content_length.data(), content_length.data() + content_length.size(), n);
  if (ec == std::errc::result_out_of_range) return false;
  return ec != std::errc() || n <= limit;
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 400: return "malformed HTTP request";
    case 404: return "no such endpoint (or method not allowed on it)";
    case 413: return "request body over the limit (--max-request-bytes)";
    case 414: return "request URI too long";
    default: return "request refused";
  }
}

struct Refusal {
  int status;
  std::string message;
};

bool HasBody(const httplib::Request& req) {
  return req.has_header("Transfer-Encoding") ||
         (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0");
}

class HttpFrontEnd : public FrontEnd {
 public:
  HttpFrontEnd(InferenceService& service, FrontEndOptions options, std::unique_ptr<httplib::Server> server)
      : service_(service), options_(std::move(options)), server_(std::move(server)) {}
  ~HttpFrontEnd() override { Shutdown(); }

  Status Start();
  int port() const override { return port_; }
  void Shutdown() override;

 private:
  // Starts the request's log context (once: "Expect: 100-continue" requests pass here twice).
  http::RequestLogContext& BeginRequest(const httplib::Request& req);
  // Decides from the headers alone whether a request is refused (bad token, body over the limit).
  std::optional<Refusal> Admit(const httplib::Request& req) const;
  void Log(const httplib::Request& req, const httplib::Response& res);

  InferenceService& service_;
  const FrontEndOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread listener_;
  int port_ = 0;
  int listen_socket_ = -1;
  std::atomic<uint64_t> next_request_id_{1};
  std::once_flag shutdown_once_;
};

std::optional<Refusal> HttpFrontEnd::Admit(const httplib::Request& req) const {
  // Health probes come from load balancers and orchestrators that hold no token (as in Triton).
  const bool open = req.path.rfind("/v2/health/", 0) == 0;
  if (!options_.auth_token.empty() && !open &&
      !http::BearerTokenMatches(req.get_header_value("Authorization"), options_.auth_token)) {
    return Refusal{401,
                   req.has_header("Authorization") ? "invalid bearer token" : "missing Authorization: Bearer header"};
  }
  if (req.has_header("Content-Length") &&
      !FitsLimit(req.get_header_value("Content-Length"), options_.max_request_bytes)) {
    return Refusal{413, "request body of " + req.get_header_value("Content-Length") + " bytes is over the limit of " +
                            std::to_string(options_.max_request_bytes) + " bytes (--max-request-bytes)"};
  }
  return std::nullopt;
}

void Reply(httplib::Response& res, const Refusal& refusal) {
  if (refusal.status == 401) res.set_header("WWW-Authenticate", "Bearer");
  http::ReplyError(res, refusal.status, refusal.message);
}

// "m" from /v2/models/m/..., /v2/repository/models/m/...; "" elsewhere.
std::string ModelInPath(const std::string& path) {
  for (const char* prefix : {"/v2/models/", "/v2/repository/models/"}) {
    const std::string p = prefix;
    if (path.rfind(p, 0) == 0) return path.substr(p.size(), path.find('/', p.size()) - p.size());
  }
  return "";
}

http::RequestLogContext& HttpFrontEnd::BeginRequest(const httplib::Request& req) {
  http::RequestLogContext& context = http::CurrentRequestLog();
  if (context.active && context.request == &req) return context;
  context.active = true;
  context.request = &req;
  context.start = std::chrono::steady_clock::now();
  context.request_id =
      req.has_header("X-Request-ID") ? req.get_header_value("X-Request-ID") : std::to_string(next_request_id_++);
  context.model = ModelInPath(req.path);
  context.refused_status = 0;
  return context;
}

void HttpFrontEnd::Log(const httplib::Request& req, const httplib::Response& res) {
  http::RequestLogContext& context = http::CurrentRequestLog();
  if (options_.log_requests) {
    http::WriteLogLine(http::FormatRequestLogLine(context, req.method, req.path, res.status,
                                                  std::chrono::system_clock::now(), std::chrono::steady_clock::now()));
  }
  context = {};
}

Status HttpFrontEnd::Start() {
  httplib::Server& s = *server_;
  s.new_task_queue = [] { return new httplib::ThreadPool(kWorkerThreads); };
  s.set_payload_max_length(options_.max_request_bytes);  // chunked bodies carry no Content-Length to check
  s.set_keep_alive_max_count(kKeepAliveMaxRequests);
  s.set_tcp_nodelay(true);
  // cpp-httplib 0.11 listens with a backlog of 5: 64 clients connecting at once overflow it, and the
  // dropped handshakes come back seconds later or as resets (seen as read errors and multi-second tail
  // latency under wrk). The option hook is the one place that sees the listening socket; once bound, it
  // listens again with the system's maximum backlog (Linux updates the backlog of a listening socket).
  s.set_socket_options([this](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_socket_ = sock;
  });
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // Every body of this protocol is JSON or binary tensors, whatever its label, but cpp-httplib caps
    // bodies labelled application/x-www-form-urlencoded (what `curl -d` sends unless told otherwise) at
    // 8 KiB and answers 413 beyond, which no --max-request-bytes changes. The label is dropped before the
    // body is read, so such a request is served like any other. (The Request object is the server's own,
    // non-const; only this hook's view of it is const.)
    if (req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0) {
      auto& headers = const_cast<httplib::Request&>(req).headers;
      headers.erase("Content-Type");
      headers.emplace("Content-Type", "application/json");
    }
    http::RequestLogContext& context = BeginRequest(req);
    std::optional<Refusal> refusal = Admit(req);
    if (!refusal) return httplib::Server::HandlerResponse::Unhandled;
    if (!HasBody(req)) {
      Reply(res, *refusal);
      return httplib::Server::HandlerResponse::Handled;
    }
    // A body is on its way and cpp-httplib can neither close the connection from here nor skip what it
    // has not read: answering now would leave the body to be parsed as the next request. So the body is
    // read off first: one over the size limit is discarded as it arrives, never stored (cpp-httplib's
    // payload limit, checked against Content-Length before reading), and the endpoint answers with the
    // refusal. Clients that send "Expect: 100-continue" (curl does for large bodies) are refused before
    // they send anything, below.
    context.refused_status = refusal->status;
    context.refused_message = refusal->message;
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_expect_100_continue_handler([this](const httplib::Request& req, httplib::Response& res) {
    BeginRequest(req);
    std::optional<Refusal> refusal = Admit(req);
    if (!refusal) return 100;
    Reply(res, *refusal);
    return refusal->status;
  });
  // Errors cpp-httplib raises itself (no such endpoint, unparsable request, chunked body too large) get
  // the protocol's JSON error body too; bodies set by the endpoints are kept.
  s.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const http::RequestLogContext& context = http::CurrentRequestLog();
    http::ReplyError(res, res.status,
                     context.refused_status == res.status ? context.refused_message : ReasonPhrase(res.status));
    return httplib::Server::HandlerResponse::Handled;
  }));
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    http::ReplyError(res, 500, "internal error while serving the request");
  });
  s.set_logger([this](const httplib::Request& req, const httplib::Response& res) { Log(req, res); });
  http::RegisterEndpoints(s, service_);

  const std::string where = options_.host + ":" + std::to_string(options_.port);
  if (options_.port == 0) {
    port_ = s.bind_to_any_port(options_.host);
  } else {
    port_ = s.bind_to_port(options_.host, options_.port) ? options_.port : -1;
  }
  if (port_ < 0) return IoError("http: cannot listen on " + where + " (address in use, or host not local?)");
  if (listen_socket_ >= 0) ::listen(listen_socket_, SOMAXCONN);
  listener_ = std::thread([&s] { s.listen_after_bind(); });
  // stop() is a no-op until the accept loop runs: wait for it so that Shutdown() always ends it.
  while (!s.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return Status::Ok();
}

void HttpFrontEnd::Shutdown() {
  std::call_once(shutdown_once_, [this] {
    // stop() closes the listening socket; the accept loop then joins its workers, each of which finishes
    // the request it is serving (connections kept alive end after their current request).
    server_->stop();
    if (listener_.joinable()) listener_.join();
  });
}

Status CheckReadable(const std::string& path, const char* what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return NotFound(std::string("TLS ") + what + " '" + path + "' is not a file");
  return Status::Ok();
}

StatusOr<std::unique_ptr<httplib::Server>> MakeServer(const TlsOptions& tls) {
  if (!tls.enabled()) return std::make_unique<httplib::Server>();
  TS_RETURN_IF_ERROR(CheckReadable(tls.cert_file, "certificate"));
  TS_RETURN_IF_ERROR(CheckReadable(tls.key_file, "key"));
  if (!tls.client_ca_file.empty()) TS_RETURN_IF_ERROR(CheckReadable(tls.client_ca_file, "client CA"));
  auto server = std::make_unique<httplib::SSLServer>(tls.cert_file.c_str(), tls.key_file.c_str(),
                                                     tls.client_ca_file.empty() ? nullptr : tls.client_ca_file.c_str());
  if (!server->is_valid()) {
    return InvalidArgument("TLS: cannot use certificate '" + tls.cert_file + "' with key '" + tls.key_file + "'" +
                           (tls.client_ca_file.empty() ? "" : " and client CA '" + tls.client_ca_file + "'") +
                           " (not PEM, or the key does not match the certificate)");
  }
  return std::unique_ptr<httplib::Server>(std::move(server));
}

}  // namespace

StatusOr<std::unique_ptr<FrontEnd>> StartHttpFrontEnd(InferenceService& service, const FrontEndOptions& options) {
  TS_ASSIGN_OR_RETURN(std::unique_ptr<httplib::Server> server, MakeServer(options.tls));
  auto front_end = std::make_unique<HttpFrontEnd>(service, options, std::move(server));
  TS_RETURN_IF_ERROR(front_end->Start());
  return std::unique_ptr<FrontEnd>(std::move(front_end));
}

}  // namespace tessera::serve
