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
  // call except ServerLive and ServerReady (health probes carry no credentials) needs the token.
  GrpcInferenceHandler(InferenceService& service, std::string auth_token)
      : service_(service), auth_token_(std::move(auth_token)) {}

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
  // Runs `body` once the call's token is accepted; an exception (allocation failure) becomes a status
  // instead of ending the process.
  template <typename Body>
  grpc::Status Authenticated(grpc::ServerContext* context, Body&& body);

  InferenceService& service_;
  const std::string auth_token_;
};

}  // namespace tessera::serve
