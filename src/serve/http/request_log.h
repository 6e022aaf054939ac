// Structured request logs of the REST front end: one JSON line per request on stderr (with
// --log-requests), e.g.
//   {"time":"2026-11-30T07:40:00.123Z","request_id":"42","method":"POST","path":"/v2/models/m/infer",
//    "model":"m","status":200,"ms":12.345}
#pragma once

#include <chrono>
#include <string>

namespace tessera::serve::http {

// What the endpoints learn about the request being served. cpp-httplib runs a request on one worker
// thread from routing to logging, so the current request's fields live in a thread-local.
struct RequestLogContext {
  bool active = false;            // set when routing starts; a request refused while parsing never gets one
  const void* request = nullptr;  // the request it belongs to (identity only, never dereferenced)
  std::chrono::steady_clock::time_point start;
  std::string request_id;  // the inference request's "id", else the X-Request-ID header, else a counter
  std::string model;
  // A refusal decided from the headers of a request whose body still has to be read off the connection
  // (so that the connection stays in step); the endpoint answers with it instead of serving the request.
  int refused_status = 0;
  std::string refused_message;
};

RequestLogContext& CurrentRequestLog();

// The log line (without the newline) for a request that ended with HTTP `status`.
std::string FormatRequestLogLine(const RequestLogContext& context, const std::string& method, const std::string& path,
                                 int status, std::chrono::system_clock::time_point now,
                                 std::chrono::steady_clock::time_point end);

// Writes `line` and a newline to stderr in one write, so lines from concurrent requests never interleave.
void WriteLogLine(const std::string& line);

}  // namespace tessera::serve::http
