// The KServe v2 REST endpoints (health, metadata, inference), Triton's repository extension and
// /metrics, registered on a cpp-httplib server. Each handler translates bytes to an InferenceService
// call and its Status to an HTTP code (http_status.h); admission (auth, size limits) happens before.
#pragma once

#include <httplib.h>

#include "serve/inference_service.h"

namespace tessera::serve::http {

// `service` must outlive `server`.
void RegisterEndpoints(httplib::Server& server, InferenceService& service);

// Sets `res` to the protocol's error body for `status` (which is not OK).
void ReplyError(httplib::Response& res, const Status& status);
void ReplyError(httplib::Response& res, int http_status, const std::string& message);

}  // namespace tessera::serve::http
