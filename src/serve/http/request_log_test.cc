#include "serve/http/request_log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tessera::serve::http {
namespace {

TEST(RequestLogTest, LineIsOneJsonObjectWithEveryField) {
  RequestLogContext context;
  context.active = true;
  context.start = std::chrono::steady_clock::time_point(std::chrono::milliseconds(1000));
  context.request_id = "id \"quoted\"\nnewline";
  context.model = "resnet";
  const auto now = std::chrono::system_clock::time_point(std::chrono::milliseconds(1764488400123));
  const std::string line = FormatRequestLogLine(context, "POST", "/v2/models/resnet/infer", 200, now,
                                                context.start + std::chrono::microseconds(12345));
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one line per request, whatever the id holds";
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["time"], "2025-11-30T07:40:00.123Z");
  EXPECT_EQ(j["request_id"], "id \"quoted\"\nnewline");
  EXPECT_EQ(j["model"], "resnet");
  EXPECT_EQ(j["status"], 200);
  EXPECT_DOUBLE_EQ(j["ms"].get<double>(), 12.345);
}

TEST(RequestLogTest, RequestRefusedBeforeRoutingHasNoDuration) {
  RequestLogContext context;  // not active: refused while its request line was parsed
  auto j = nlohmann::json::parse(FormatRequestLogLine(context, "GET", "/", 400, std::chrono::system_clock::now(),
                                                      std::chrono::steady_clock::now()));
  EXPECT_EQ(j["ms"], 0.0);
  EXPECT_EQ(j["status"], 400);
}

}  // namespace
}  // namespace tessera::serve::http
