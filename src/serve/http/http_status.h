// Status codes -> HTTP status codes for the REST front end (the table is in docs/serving.md).
#pragma once

#include "tessera/status.h"

namespace tessera::serve::http {

// 200 for OK. A request that is too large never gets here: it is refused with 413 from its headers.
int HttpStatusFor(StatusCode code);

// The other way, for a server that forwards to other Tessera servers: the Status an HTTP error answer
// stands for (4xx and 5xx codes of the table; others are Internal).
StatusCode StatusCodeForHttp(int http_status);

}  // namespace tessera::serve::http
