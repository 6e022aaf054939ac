// gRPC call log lines.
#include "serve/grpc/grpc_request_log.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace tessera::serve {

const char* GrpcStatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

std::string FormatGrpcCallLogLine(const std::string& method, const std::string& model, const std::string& request_id,
                                  grpc::StatusCode code, std::chrono::system_clock::time_point now, double ms) {
  const auto ms_since_epoch = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms_since_epoch / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[40];
  const size_t n = std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(stamp + n, sizeof(stamp) - n, ".%03dZ", static_cast<int>(ms_since_epoch % 1000));
  const double rounded_ms = static_cast<double>(static_cast<int64_t>(ms * 1000)) / 1000;  // to the microsecond
  nlohmann::ordered_json line = {{"time", stamp},  {"request_id", request_id},           {"method", method},
                                 {"model", model}, {"status", GrpcStatusCodeName(code)}, {"ms", rounded_ms}};
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void WriteGrpcCallLogLine(const std::string& line) {
  const std::string out = line + "\n";
  // One write(2): a line up to PIPE_BUF bytes reaches a pipe whole even when calls log concurrently.
  [[maybe_unused]] ssize_t written = ::write(STDERR_FILENO, out.data(), out.size());
}

}  // namespace tessera::serve
