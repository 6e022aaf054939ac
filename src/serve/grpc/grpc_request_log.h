// Structured call logs of the gRPC front end: one JSON line per call on stderr (with --log-requests), in
// the shape of the REST front end's request logs so one parser reads both, e.g.
//   {"time":"2026-11-30T07:40:00.123Z","request_id":"42","method":"ModelInfer","model":"m","status":"OK","ms":12.345}
#pragma once

#include <grpcpp/support/status_code_enum.h>

#include <chrono>
#include <string>

namespace tessera::serve {

// "OK", "INVALID_ARGUMENT", ...: the code's name as gRPC documents it.
const char* GrpcStatusCodeName(grpc::StatusCode code);

// The log line (without the newline). `model` and `request_id` come from the client and are escaped;
// invalid UTF-8 is replaced, never copied into the log.
std::string FormatGrpcCallLogLine(const std::string& method, const std::string& model, const std::string& request_id,
                                  grpc::StatusCode code, std::chrono::system_clock::time_point now, double ms);

// Writes `line` and a newline to stderr in one write, so lines from concurrent calls never interleave.
void WriteGrpcCallLogLine(const std::string& line);

}  // namespace tessera::serve
