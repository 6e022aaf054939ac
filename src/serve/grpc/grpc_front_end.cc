// StartGrpcFrontEnd: a gRPC server (plain or TLS, optionally requiring client certificates) that serves
// GrpcInferenceHandler on its own threads.
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>

#include <climits>
#include <fstream>
#include <mutex>
#include <sstream>

#include "serve/front_end.h"
#include "serve/grpc/grpc_inference_handler.h"

namespace tessera::serve {

namespace {

StatusOr<std::string> ReadPemFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(std::string("cannot open the TLS ") + what + " '" + path + "'");
  std::ostringstream contents;
  contents << in.rdbuf();
  if (contents.str().empty()) return InvalidArgument(std::string("the TLS ") + what + " '" + path + "' is empty");
  return contents.str();
}

StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeCredentials(const TlsOptions& tls) {
  if (!tls.enabled()) return grpc::InsecureServerCredentials();
  if (tls.key_file.empty()) return InvalidArgument("TLS needs a private key file as well as the certificate");
  grpc::SslServerCredentialsOptions ssl;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  TS_ASSIGN_OR_RETURN(pair.cert_chain, ReadPemFile(tls.cert_file, "certificate"));
  TS_ASSIGN_OR_RETURN(pair.private_key, ReadPemFile(tls.key_file, "private key"));
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  if (!tls.client_ca_file.empty()) {
    TS_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadPemFile(tls.client_ca_file, "client CA"));
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

std::string ListenAddress(const FrontEndOptions& options) {
  // An IPv6 literal needs brackets before the port.
  const bool ipv6 = options.host.find(':') != std::string::npos && options.host.front() != '[';
  return (ipv6 ? "[" + options.host + "]" : options.host) + ":" + std::to_string(options.port);
}

class GrpcFrontEnd final : public FrontEnd {
 public:
  GrpcFrontEnd(std::unique_ptr<GrpcInferenceHandler> handler, std::unique_ptr<grpc::Server> server, int port)
      : handler_(std::move(handler)), server_(std::move(server)), port_(port) {}
  ~GrpcFrontEnd() override { Shutdown(); }

  int port() const override { return port_; }

  void Shutdown() override {
    std::call_once(shutdown_once_, [this] {
      // Without a deadline, Shutdown refuses new calls and waits for the ones in flight to finish.
      server_->Shutdown();
      server_->Wait();
    });
  }

 private:
  std::unique_ptr<GrpcInferenceHandler> handler_;  // declared first: the server calls into it until it stops
  std::unique_ptr<grpc::Server> server_;
  int port_;
  std::once_flag shutdown_once_;
};

}  // namespace

StatusOr<std::unique_ptr<FrontEnd>> StartGrpcFrontEnd(InferenceService& service, const FrontEndOptions& options) {
  if (options.port < 0 || options.port > 65535) {
    return InvalidArgument("gRPC port " + std::to_string(options.port) + " is out of range (0-65535)");
  }
  TS_ASSIGN_OR_RETURN(auto credentials, MakeCredentials(options.tls));
  auto handler = std::make_unique<GrpcInferenceHandler>(service, options.auth_token, options.log_requests);

  grpc::ServerBuilder builder;
  int bound_port = 0;
  const std::string address = ListenAddress(options);
  builder.AddListeningPort(address, credentials, &bound_port);
  builder.RegisterService(handler.get());
  // gRPC refuses a larger message with RESOURCE_EXHAUSTED; the handlers never see it.
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<size_t>(options.max_request_bytes, INT_MAX)));
  builder.SetMaxSendMessageSize(-1);  // outputs are as large as the model makes them
  // gRPC sets SO_REUSEPORT by default, which would let a second server bind a port that is taken.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server != nullptr && bound_port == 0) server->Shutdown();
  if (server == nullptr || bound_port == 0) {
    return Unavailable("cannot start the gRPC server on " + address +
                       " (port in use, address not local, or unusable TLS certificate/key)");
  }
  return std::unique_ptr<FrontEnd>(std::make_unique<GrpcFrontEnd>(std::move(handler), std::move(server), bound_port));
}

}  // namespace tessera::serve
