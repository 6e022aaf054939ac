#include "serve/grpc/grpc_request_log.h"

#include <gtest/gtest.h>

namespace tessera::serve {
namespace {

TEST(GrpcRequestLogTest, LineHasTheRestShapeWithTheGrpcCodeName) {
  const auto when =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1796024400123));  // 2026-11-30T07:40:00.123Z
  EXPECT_EQ(FormatGrpcCallLogLine("ModelInfer", "m", "42", grpc::StatusCode::INVALID_ARGUMENT, when, 12.3456789),
            R"({"time":"2026-11-30T07:40:00.123Z","request_id":"42","method":"ModelInfer","model":"m",)"
            R"("status":"INVALID_ARGUMENT","ms":12.345})");
}

// Model names and request ids come from the client: quotes, newlines and bad UTF-8 must not break the line.
TEST(GrpcRequestLogTest, ClientStringsAreEscaped) {
  const std::string line = FormatGrpcCallLogLine("ModelInfer", "a\"b\nc", std::string("\xff\xfe", 2),
                                                 grpc::StatusCode::OK, std::chrono::system_clock::time_point(), 0);
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  EXPECT_NE(line.find(R"("model":"a\"b\nc")"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("status":"OK")"), std::string::npos) << line;
}

TEST(GrpcRequestLogTest, EveryCodeHasItsName) {
  EXPECT_STREQ(GrpcStatusCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_STREQ(GrpcStatusCodeName(grpc::StatusCode::DEADLINE_EXCEEDED), "DEADLINE_EXCEEDED");
  EXPECT_STREQ(GrpcStatusCodeName(static_cast<grpc::StatusCode>(99)), "UNKNOWN");
}

}  // namespace
}  // namespace tessera::serve
