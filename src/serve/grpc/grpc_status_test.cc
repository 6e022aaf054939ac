#include "serve/grpc/grpc_status.h"

#include <gtest/gtest.h>

namespace tessera::serve {
namespace {

TEST(GrpcStatusTest, EachCodeMapsToItsGrpcNamesake) {
  const std::pair<Status, grpc::StatusCode> cases[] = {
      {Status::Ok(), grpc::StatusCode::OK},
      {InvalidArgument("m"), grpc::StatusCode::INVALID_ARGUMENT},
      {NotFound("m"), grpc::StatusCode::NOT_FOUND},
      {Unimplemented("m"), grpc::StatusCode::UNIMPLEMENTED},
      {ResourceExhausted("m"), grpc::StatusCode::RESOURCE_EXHAUSTED},
      {Internal("m"), grpc::StatusCode::INTERNAL},
      {IoError("m"), grpc::StatusCode::INTERNAL},
      {Unavailable("m"), grpc::StatusCode::UNAVAILABLE},
      {DeadlineExceeded("m"), grpc::StatusCode::DEADLINE_EXCEEDED},
      {Unauthenticated("m"), grpc::StatusCode::UNAUTHENTICATED},
  };
  for (const auto& [status, code] : cases) {
    EXPECT_EQ(ToGrpcStatus(status).error_code(), code) << status.ToString();
  }
}

TEST(GrpcStatusTest, MessageIsKeptAsIs) {
  EXPECT_EQ(ToGrpcStatus(NotFound("unknown model 'x'")).error_message(), "unknown model 'x'");
}

}  // namespace
}  // namespace tessera::serve
