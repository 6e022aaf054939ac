// JSON request log lines (see request_log.h).
#include "serve/http/request_log.h"

#include <unistd.h>

#include <ctime>
#include <nlohmann/json.hpp>

namespace tessera::serve::http {

RequestLogContext& CurrentRequestLog() {
  thread_local RequestLogContext context;
  return context;
}

std::string FormatRequestLogLine(const RequestLogContext& context, const std::string& method, const std::string& path,
                                 int status, std::chrono::system_clock::time_point now,
                                 std::chrono::steady_clock::time_point end) {
  const auto ms_since_epoch = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms_since_epoch / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[64];
  std::snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(ms_since_epoch % 1000));
  const double ms = context.active ? std::chrono::duration<double, std::milli>(end - context.start).count() : 0.0;
  nlohmann::ordered_json line = {{"time", stamp},
                                 {"request_id", context.request_id},
                                 {"method", method},
                                 {"path", path},
                                 {"model", context.model},
                                 {"status", status},
                                 {"ms", static_cast<double>(static_cast<int64_t>(ms * 1000)) / 1000}};
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void WriteLogLine(const std::string& line) {
  const std::string out = line + "\n";
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::write(STDERR_FILENO, out.data() + done, out.size() - done);
    if (n <= 0) return;  // stderr closed: logging is best effort
    done += static_cast<size_t>(n);
  }
}

}  // namespace tessera::serve::http
