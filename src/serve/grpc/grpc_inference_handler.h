// The GRPCInferenceService handlers: each call is checked for its bearer token, translated to an
// InferenceService call, and its result or Status translated back. Holds no state of its own.
//
// Thread safety: gRPC calls the handlers from many threads at once; InferenceService allows that.
#pragma once

#include <string>

#include "grpc_predict_v2.grpc.pb.h"
#include "serve/inference_service.h"

namespace tessera::serve {

class GrpcInferenceHandler final : public inference::GRPCInferenceService::Service {
 public:
  // `service` must outlive the handler. An empty `auth_token` turns authentication off; otherwise every
  // call except ServerLive and ServerReady (health probes carry no credentials) needs the token. With
  // `log_requests`, every call writes one line to stderr (grpc_request_log.h).
  GrpcInferenceHandler(InferenceService& service, std::string auth_token, bool log_requests)
      : service_(service), auth_token_(std::move(auth_token)), log_requests_(log_requests) {}

  grpc::Status ServerLive(grpc::ServerContext* context, const inference::ServerLiveRequest* request,
                          inference::ServerLiveResponse* response) override;
  grpc::Status ServerReady(grpc::ServerContext* context, const inference::ServerReadyRequest* request,
                           inference::ServerReadyResponse* response) override;
  grpc::Status ModelReady(grpc::ServerContext* context, const inference::ModelReadyRequest* request,
                          inference::ModelReadyResponse* response) override;
  grpc::Status ServerMetadata(grpc::ServerContext* context, const inference::ServerMetadataRequest* request,
                              inference::ServerMetadataResponse* response) override;
  grpc::Status ModelMetadata(grpc::ServerContext* context, const inference::ModelMetadataRequest* request,
                             inference::ModelMetadataResponse* response) override;
  grpc::Status ModelInfer(grpc::ServerContext* context, const inference::ModelInferRequest* request,
                          inference::ModelInferResponse* response) override;
  grpc::Status RepositoryIndex(grpc::ServerContext* context, const inference::RepositoryIndexRequest* request,
                               inference::RepositoryIndexResponse* response) override;
  grpc::Status RepositoryModelLoad(grpc::ServerContext* context, const inference::RepositoryModelLoadRequest* request,
                                   inference::RepositoryModelLoadResponse* response) override;
  grpc::Status RepositoryModelUnload(grpc::ServerContext* context,
                                     const inference::RepositoryModelUnloadRequest* request,
                                     inference::RepositoryModelUnloadResponse* response) override;

 private:
  // What a call's log line says about it.
  struct Call {
    const char* method;
    bool open;  // served without a token (health)
    const std::string& model;
    const std::string& request_id;
  };
  // Runs `body` (returning a Status) once the call's token is accepted, and logs the call. An exception
  // (allocation failure) becomes a status instead of ending the process.
  template <typename Body>
  grpc::Status Serve(grpc::ServerContext* context, const Call& call, Body&& body);

  InferenceService& service_;
  const std::string auth_token_;
  const bool log_requests_;
};

}  // namespace tessera::serve
