// `tessera serve`: the inference server behind an HTTP/REST and a gRPC front end (KServe v2), until
// SIGTERM or SIGINT.
//
// Once every front end listens, one line goes to stdout with the ports actually bound (scripts and tests
// started with port 0 read it):
//   tessera serve: listening http_port=8000 grpc_port=8001
// (grpc_port is left out when gRPC is off or unavailable). On SIGTERM/SIGINT the front ends stop
// accepting and answer the requests in flight, the server drains, and the exit status is 0.
//
// With --replicas http(s)://HOST:PORT,... the server runs no model: it routes every request to those worker
// `tessera serve` processes and survives their deaths (serve/replicas/, docs/serving.md, "Replicas and
// failover").
#include <malloc.h>
#include <pthread.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/command_line.h"
#include "cli/rank_command.h"
#include "cli/commands.h"
#include "parallel/comm/communicator.h"
#include "serve/distributed/mpi_serving.h"
#include "serve/front_end.h"
#include "serve/inference_server.h"
#include "serve/replicas/replica_service.h"

namespace tessera::cli {

namespace {

constexpr int64_t kMaxPort = 65535;

StatusOr<std::string> ReadToken(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("--auth-token-file '" + path + "' cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  // Files written by editors and `echo` end with a newline that is not part of the token.
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.front()))) token.erase(token.begin());
  if (token.empty()) return InvalidArgument("--auth-token-file '" + path + "' is empty");
  if (token.find_first_of(" \t\r\n") != std::string::npos) {
    return InvalidArgument("--auth-token-file '" + path + "' holds whitespace inside the token");
  }
  return token;
}

// "a,b,c" -> {a, b, c}; InvalidArgument for an empty item.
StatusOr<std::vector<std::string>> SplitList(const std::string& text, const std::string& flag) {
  std::vector<std::string> items;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item.empty()) return InvalidArgument(flag + " '" + text + "' has an empty item");
    items.push_back(item);
    if (comma == std::string::npos) return items;
    start = comma + 1;
  }
}

struct ServeConfig {
  serve::ServerOptions server;
  std::optional<serve::replicas::ReplicaServiceOptions> router;  // set with --replicas
  serve::FrontEndOptions http;
  int grpc_port = 8001;  // -1: no gRPC front end
};

StatusOr<ServeConfig> ParseConfig(const CommandLine& cl) {
  if (!cl.positional().empty()) return InvalidArgument("unexpected argument '" + cl.positional()[0] + "'");
  ServeConfig c;
  c.server.model_repo = cl.Get("model-repo");
  c.server.load_models = cl.All("load-model");
  TS_ASSIGN_OR_RETURN(int64_t threads, cl.GetInt("threads", 0, 0, 1024));
  c.server.default_threads = static_cast<int>(threads);
  TS_ASSIGN_OR_RETURN(int64_t timeout_ms, cl.GetInt("request-timeout-ms", 60000, 1, int64_t{24} * 3600 * 1000));
  c.server.request_timeout_ms = static_cast<int>(timeout_ms);
  // Generation models (decoders): the scheduler's limits (docs/serving.md, "OpenAI-compatible generation").
  TS_ASSIGN_OR_RETURN(int64_t running, cl.GetInt("max-running-sequences", 16, 1, 4096));
  TS_ASSIGN_OR_RETURN(int64_t waiting, cl.GetInt("max-waiting-sequences", 256, 0, 1 << 20));
  TS_ASSIGN_OR_RETURN(int64_t cache_mib, cl.GetInt("max-kv-cache-mib", 0, 0, int64_t{1} << 30));
  c.server.generation.max_running = static_cast<int>(running);
  c.server.generation.max_waiting = static_cast<int>(waiting);
  c.server.generation.max_cache_bytes = cache_mib << 20;

  if (cl.Has("replicas")) {
    for (const char* own : {"model-repo", "load-model", "threads", "max-running-sequences", "max-waiting-sequences",
                            "max-kv-cache-mib", "link-key"}) {
      if (cl.Has(own)) return InvalidArgument(std::string("--") + own + " is for a server that runs models; with "
                                              "--replicas each worker takes it");
    }
    serve::replicas::ReplicaServiceOptions router;
    TS_ASSIGN_OR_RETURN(router.urls, SplitList(cl.Get("replicas"), "--replicas"));
    TS_RETURN_IF_ERROR(serve::replicas::CheckReplicaUrls(router.urls));
    TS_ASSIGN_OR_RETURN(int64_t wait_ms, cl.GetInt("replica-timeout-ms", 120000, 1, int64_t{24} * 3600 * 1000));
    router.http.read_timeout = std::chrono::milliseconds(wait_ms);
    TS_ASSIGN_OR_RETURN(int64_t interval_ms, cl.GetInt("health-interval-ms", 200, 10, 60000));
    router.health_interval = std::chrono::milliseconds(interval_ms);
    router.http.tls = {cl.Get("replica-ca"), cl.Get("replica-cert"), cl.Get("replica-key")};
    const bool any_https = std::any_of(router.urls.begin(), router.urls.end(),
                                       [](const std::string& url) { return url.rfind("https://", 0) == 0; });
    if (!any_https && (cl.Has("replica-ca") || cl.Has("replica-cert") || cl.Has("replica-key"))) {
      return InvalidArgument("--replica-ca, --replica-cert and --replica-key are for https:// replicas");
    }
    TS_RETURN_IF_ERROR(serve::replicas::CheckReplicaTlsFiles(router.http.tls));
    c.router = std::move(router);
  } else {
    for (const char* routing :
         {"replica-timeout-ms", "health-interval-ms", "replica-ca", "replica-cert", "replica-key"}) {
      if (cl.Has(routing)) return InvalidArgument(std::string("--") + routing + " goes with --replicas");
    }
  }

  c.http.host = cl.Get("host", "0.0.0.0");
  TS_ASSIGN_OR_RETURN(int64_t http_port, cl.GetInt("http-port", 8000, 0, kMaxPort));
  c.http.port = static_cast<int>(http_port);
  TS_ASSIGN_OR_RETURN(int64_t grpc_port, cl.GetInt("grpc-port", 8001, -1, kMaxPort));
  c.grpc_port = static_cast<int>(grpc_port);
  TS_ASSIGN_OR_RETURN(int64_t max_bytes, cl.GetInt("max-request-bytes", 64 << 20, 1, int64_t{1} << 40));
  c.http.max_request_bytes = static_cast<size_t>(max_bytes);
  c.http.log_requests = cl.Has("log-requests");
  c.http.tls = {cl.Get("tls-cert"), cl.Get("tls-key"), cl.Get("tls-client-ca")};
  if (c.http.tls.cert_file.empty() != c.http.tls.key_file.empty()) {
    return InvalidArgument("--tls-cert and --tls-key go together");
  }
  if (!c.http.tls.client_ca_file.empty() && !c.http.tls.enabled()) {
    return InvalidArgument("--tls-client-ca needs --tls-cert and --tls-key");
  }
  if (cl.Has("auth-token-file")) {
    TS_ASSIGN_OR_RETURN(c.http.auth_token, ReadToken(cl.Get("auth-token-file")));
  }
  return c;
}

// Blocks until SIGTERM or SIGINT; returns its number.
int WaitForStopSignal(const sigset_t& signals) {
  int signal = 0;
  while (sigwait(&signals, &signal) != 0) {
  }
  return signal;
}

}  // namespace

int ServeCommand(const std::vector<std::string>& args) {
  auto cl = CommandLine::Parse(args,
                               {"model-repo", "host", "http-port", "grpc-port", "tls-cert", "tls-key", "tls-client-ca",
                                "auth-token-file", "max-request-bytes", "request-timeout-ms", "threads", "load-model",
                                "max-running-sequences", "max-waiting-sequences", "max-kv-cache-mib", "link-key",
                                "replicas", "replica-timeout-ms", "health-interval-ms", "replica-ca", "replica-cert",
                                "replica-key"},
                               {"log-requests"});
  if (!cl.ok()) return Fail(cl.status(), kExitUsage);
  auto config = ParseConfig(*cl);
  if (!config.ok()) return Fail(config.status(), kExitUsage);

  // Models run on the server's instance threads, not on the main thread. glibc gives other threads their
  // own arenas, whose heaps are capped at 64 MiB, so large activations there are mmapped and unmapped on
  // every run and page-faulted afresh, whatever core/tensor.cc tunes for the main heap (measured, MobileNetV2
  // at batch 16 through the server: 2.6-3.0 s per run; with one arena 0.5 s, as `tessera bench`). One arena
  // keeps freed activation blocks warm for the next run; small allocations stay per-thread (tcache).
  mallopt(M_ARENA_MAX, 1);

  // Every thread started from here on (front-end workers, inference threads) inherits this mask, so the
  // stop signals are delivered only to sigwait below. A client that hangs up must not kill the server.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  // Under mpirun, models with a parallel plan run on groups of ranks; ranks other than 0 only compute
  // (docs/serving.md, "Serving over MPI").
  std::optional<CommandWorld> world;
  std::unique_ptr<serve::MpiServing> mpi;
  if (LaunchedByMpi() && !config->router) {
    int exit_code = kExitOk;
    world = CommandWorld::Open(exit_code, cl->Get("link-key"));
    if (!world) return exit_code;
    if (world->comm().size() > 1) {
      bool report = false;
      auto started = serve::MpiServing::Start(world->comm(), config->server, report);
      if (!started.ok()) return report ? Fail(started.status()) : kExitFailure;
      mpi = std::move(started).value();
      if (!world->root()) {
        Status s = mpi->RunWorker();
        return s.ok() ? kExitOk : Fail(s);
      }
      std::cerr << mpi->Describe() << "links: " << world->comm().link_protection() << "\n";
    }
  }

  auto server = config->router ? serve::replicas::CreateReplicaService(*config->router)
                               : serve::CreateInferenceServer(config->server);
  if (!server.ok()) return Fail(server.status());
  auto http = serve::StartHttpFrontEnd(**server, config->http);
  if (!http.ok()) return Fail(http.status());
  std::unique_ptr<serve::FrontEnd> grpc;
  if (config->grpc_port >= 0) {
    serve::FrontEndOptions grpc_options = config->http;
    grpc_options.port = config->grpc_port;
    auto started = serve::StartGrpcFrontEnd(**server, grpc_options);
    if (started.ok()) {
      grpc = std::move(started).value();
    } else if (started.status().code() == StatusCode::kUnimplemented) {
      std::cerr << "tessera: warning: no gRPC front end (" << started.status().message() << "); serving HTTP only\n";
    } else {
      (*http)->Shutdown();
      return Fail(started.status());
    }
  }
  std::cout << "tessera serve: listening http_port=" << (*http)->port();
  if (grpc) std::cout << " grpc_port=" << grpc->port();
  std::cout << std::endl;

  auto stop = [&] {
    const int signal = WaitForStopSignal(stop_signals);
    std::cerr << "tessera: " << (signal == SIGINT ? "SIGINT" : "SIGTERM")
              << ": finishing the requests in flight, then exiting\n";
    (*http)->Shutdown();
    if (grpc) grpc->Shutdown();
    (*server)->Drain();
  };
  if (mpi) {
    mpi->RunFrontEnd(stop);  // this thread carries out the MPI calls meanwhile
  } else {
    stop();
  }
  return kExitOk;
}

}  // namespace tessera::cli
