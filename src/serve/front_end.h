// A protocol front end (HTTP/REST or gRPC) listening on a port and serving an InferenceService.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "serve/inference_service.h"

namespace tessera::serve {

struct TlsOptions {
  std::string cert_file;       // PEM server certificate chain; empty = plain text
  std::string key_file;        // PEM private key
  std::string client_ca_file;  // when set, clients must present a certificate signed by this CA
  bool enabled() const { return !cert_file.empty(); }
};

struct FrontEndOptions {
  std::string host = "0.0.0.0";
  int port = 0;                           // 0 = any free port (see FrontEnd::port())
  TlsOptions tls;
  std::string auth_token;                 // non-empty: requests need "Authorization: Bearer <token>"
  size_t max_request_bytes = 64u << 20;   // larger requests are refused before they are read in full
  bool log_requests = false;              // one JSON line per request on stderr
};

class FrontEnd {
 public:
  virtual ~FrontEnd() = default;
  virtual int port() const = 0;  // the port actually bound
  // Stops accepting connections and returns once the requests in flight have been answered.
  virtual void Shutdown() = 0;
};

// Both start serving on a thread of their own and return once the port is bound.
StatusOr<std::unique_ptr<FrontEnd>> StartHttpFrontEnd(InferenceService& service, const FrontEndOptions& options);
StatusOr<std::unique_ptr<FrontEnd>> StartGrpcFrontEnd(InferenceService& service, const FrontEndOptions& options);

}  // namespace tessera::serve
