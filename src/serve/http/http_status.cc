// The one place where a Status becomes an HTTP code.
#include "serve/http/http_status.h"

namespace tessera::serve::http {

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    // A tensor too large to allocate is the request's fault; the body-size limit answers 413 earlier.
    case StatusCode::kResourceExhausted: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kDeadlineExceeded: return 504;
    case StatusCode::kUnimplemented: return 501;
    case StatusCode::kInternal: return 500;
    case StatusCode::kIoError: return 500;
  }
  return 500;
}

StatusCode StatusCodeForHttp(int http_status) {
  switch (http_status) {
    case 200: return StatusCode::kOk;
    case 400:
    case 413: return StatusCode::kInvalidArgument;
    case 401: return StatusCode::kUnauthenticated;
    case 404: return StatusCode::kNotFound;
    case 501: return StatusCode::kUnimplemented;
    case 502:
    case 503: return StatusCode::kUnavailable;
    case 504: return StatusCode::kDeadlineExceeded;
  }
  return StatusCode::kInternal;
}

}  // namespace tessera::serve::http
