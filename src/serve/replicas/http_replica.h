// HttpReplica: a ReplicaTransport over HTTP to a worker `tessera serve` at "http://HOST:PORT", or over
// HTTPS at "https://HOST:PORT" (the worker's certificate verified, its host name checked; replica_tls.h).
//
// Requests go over kept-alive connections taken from a small pool, one connection per request in flight
// (a cpp-httplib client serves one request at a time). A connection idle for longer than a server keeps it
// is not reused: the server may have closed it, and a request on it would fail like a dead replica. Health
// probes have their own connection and short timeouts, so a probe never waits behind an inference.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "serve/replicas/replica_tls.h"
#include "serve/replicas/replica_transport.h"
#include "tessera/status.h"

namespace tessera::serve::replicas {

struct HttpReplicaOptions {
  std::chrono::milliseconds connect_timeout{1000};
  // The longest wait for an answer (an inference, or the next token of a stream); past it the request
  // counts as lost to the replica. Above the workers' own --request-timeout-ms (60 s by default), so
  // that a slow request is answered by its worker rather than abandoned here.
  std::chrono::milliseconds read_timeout{120000};
  std::chrono::milliseconds health_timeout{500};  // connect and read, per probe
  ReplicaTlsFiles tls;  // for https:// URLs; not read for http:// ones
};

// "http://HOST:PORT" or "https://HOST:PORT" (a trailing '/' is allowed); InvalidArgument naming `url` for
// anything else. The TLS files are checked by CheckReplicaTlsFiles, not here.
StatusOr<std::unique_ptr<ReplicaTransport>> MakeHttpReplica(const std::string& url, const HttpReplicaOptions& options);

}  // namespace tessera::serve::replicas
