// GRPCInferenceService handlers over an InferenceService.
#include "serve/grpc/grpc_inference_handler.h"

#include <chrono>
#include <exception>
#include <new>
#include <utility>

#include "serve/grpc/grpc_auth.h"
#include "serve/grpc/grpc_request_log.h"
#include "serve/grpc/grpc_status.h"
#include "serve/grpc/grpc_tensor_codec.h"
#include "serve/kserve_datatype.h"

namespace tessera::serve {

namespace {
void FillTensorMetadata(const TensorMetadata& from, inference::ModelMetadataResponse::TensorMetadata* to) {
  to->set_name(from.name);
  to->set_datatype(KServeDatatype(from.dtype));
  for (int64_t d : from.shape) to->add_shape(d);
}
const std::string kNone;  // for calls that name no model or request id
}  // namespace

template <typename Body>
grpc::Status GrpcInferenceHandler::Serve(grpc::ServerContext* context, const Call& call, Body&& body) {
  const auto start = std::chrono::steady_clock::now();
  Status status = call.open ? Status::Ok() : CheckBearerToken(context->client_metadata(), auth_token_);
  if (status.ok()) {
    try {
      status = body();
    } catch (const std::bad_alloc&) {
      status = ResourceExhausted("out of memory while handling the request");
    } catch (const std::exception& e) {
      status = Internal(std::string("unexpected error while handling the request: ") + e.what());
    }
  }
  grpc::Status result = ToGrpcStatus(status);
  if (log_requests_) {
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    WriteGrpcCallLogLine(FormatGrpcCallLogLine(call.method, call.model, call.request_id, result.error_code(),
                                               std::chrono::system_clock::now(), ms));
  }
  return result;
}

grpc::Status GrpcInferenceHandler::ServerLive(grpc::ServerContext* context, const inference::ServerLiveRequest*,
                                              inference::ServerLiveResponse* response) {
  return Serve(context, {"ServerLive", true, kNone, kNone}, [&]() -> Status {
    response->set_live(service_.Live());
    return Status::Ok();
  });
}

grpc::Status GrpcInferenceHandler::ServerReady(grpc::ServerContext* context, const inference::ServerReadyRequest*,
                                               inference::ServerReadyResponse* response) {
  return Serve(context, {"ServerReady", true, kNone, kNone}, [&]() -> Status {
    response->set_ready(service_.Ready());
    return Status::Ok();
  });
}

grpc::Status GrpcInferenceHandler::ModelReady(grpc::ServerContext* context, const inference::ModelReadyRequest* request,
                                              inference::ModelReadyResponse* response) {
  return Serve(context, {"ModelReady", false, request->name(), kNone}, [&]() -> Status {
    TS_ASSIGN_OR_RETURN(bool ready, service_.ModelReady(request->name(), request->version()));
    response->set_ready(ready);
    return Status::Ok();
  });
}

grpc::Status GrpcInferenceHandler::ServerMetadata(grpc::ServerContext* context, const inference::ServerMetadataRequest*,
                                                  inference::ServerMetadataResponse* response) {
  return Serve(context, {"ServerMetadata", false, kNone, kNone}, [&]() -> Status {
    const serve::ServerMetadata metadata = service_.GetServerMetadata();
    response->set_name(metadata.name);
    response->set_version(metadata.version);
    for (const auto& e : metadata.extensions) response->add_extensions(e);
    return Status::Ok();
  });
}

grpc::Status GrpcInferenceHandler::ModelMetadata(grpc::ServerContext* context,
                                                 const inference::ModelMetadataRequest* request,
                                                 inference::ModelMetadataResponse* response) {
  return Serve(context, {"ModelMetadata", false, request->name(), kNone}, [&]() -> Status {
    TS_ASSIGN_OR_RETURN(serve::ModelMetadata metadata, service_.GetModelMetadata(request->name(), request->version()));
    response->set_name(metadata.name);
    for (const auto& v : metadata.versions) response->add_versions(v);
    response->set_platform(metadata.platform);
    for (const auto& t : metadata.inputs) FillTensorMetadata(t, response->add_inputs());
    for (const auto& t : metadata.outputs) FillTensorMetadata(t, response->add_outputs());
    return Status::Ok();
  });
}

grpc::Status GrpcInferenceHandler::ModelInfer(grpc::ServerContext* context, const inference::ModelInferRequest* request,
                                              inference::ModelInferResponse* response) {
  return Serve(context, {"ModelInfer", false, request->model_name(), request->id()}, [&]() -> Status {
    auto decoded = DecodeInferRequest(*request);
    if (!decoded.ok()) return decoded.status().WithContext("model '" + request->model_name() + "'");
    auto result = service_.Infer(std::move(decoded).value());
    if (!result.ok()) return result.status();  // the service's messages name the model already
    if (result->id.empty()) result->id = request->id();
    return EncodeInferResponse(*result, response);
  });
}

grpc::Status GrpcInferenceHandler::RepositoryIndex(grpc::ServerContext* context,
                                                   const inference::RepositoryIndexRequest* request,
                                                   inference::RepositoryIndexResponse* response) {
  return Serve(context, {"RepositoryIndex", false, kNone, kNone}, [&]() -> Status {
    // One repository per server, so repository_name selects nothing and is ignored.
    for (const RepositoryEntry& entry : service_.RepositoryIndex()) {
      if (request->ready() && entry.state != "READY") continue;
      auto* m = response->add_models();
      m->set_name(entry.name);
      m->set_version(entry.version);
      m->set_state(entry.state);
      m->set_reason(entry.reason);
    }
    return Status::Ok();
  });
}

grpc::Status GrpcInferenceHandler::RepositoryModelLoad(grpc::ServerContext* context,
                                                       const inference::RepositoryModelLoadRequest* request,
                                                       inference::RepositoryModelLoadResponse*) {
  return Serve(context, {"RepositoryModelLoad", false, request->model_name(), kNone}, [&]() -> Status {
    // "config" and "file:<version>/<name>" override the model folder's contents; models load only from the
    // repository on disk, so such a request is refused rather than half-honoured.
    for (const auto& [key, value] : request->parameters()) {
      if (key == "config" || key.rfind("file:", 0) == 0) {
        return Unimplemented("load parameter '" + key + "' is not supported; models load from the repository folder");
      }
    }
    if (request->model_name().empty()) return InvalidArgument("model_name is empty");
    return service_.LoadModel(request->model_name());
  });
}

grpc::Status GrpcInferenceHandler::RepositoryModelUnload(grpc::ServerContext* context,
                                                         const inference::RepositoryModelUnloadRequest* request,
                                                         inference::RepositoryModelUnloadResponse*) {
  return Serve(context, {"RepositoryModelUnload", false, request->model_name(), kNone}, [&]() -> Status {
    if (request->model_name().empty()) return InvalidArgument("model_name is empty");
    return service_.UnloadModel(request->model_name());
  });
}

}  // namespace tessera::serve
