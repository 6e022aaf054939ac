#include "serve/grpc/grpc_auth.h"

#include <gtest/gtest.h>

namespace tessera::serve {
namespace {

using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

TEST(GrpcAuthTest, NoTokenConfiguredLetsEveryCallIn) { EXPECT_TRUE(CheckBearerToken({}, "").ok()); }

TEST(GrpcAuthTest, MissingAndWrongTokensAreUnauthenticated) {
  const Status missing = CheckBearerToken({}, "tok");
  EXPECT_EQ(missing.code(), StatusCode::kUnauthenticated);
  EXPECT_NE(missing.message().find("missing"), std::string::npos);
  for (const char* wrong : {"Bearer to", "Bearer tok2", "Bearer ", "Basic tok", "tok", "Bearer  tok", "Bearertok"}) {
    Metadata m{{"authorization", wrong}};
    const Status s = CheckBearerToken(m, "tok");
    EXPECT_EQ(s.code(), StatusCode::kUnauthenticated) << wrong;
    EXPECT_EQ(s.message().find("tok2"), std::string::npos) << "the message must not echo what was sent";
  }
}

TEST(GrpcAuthTest, SchemeIsCaseInsensitiveAndAnyEntryMayMatch) {
  EXPECT_TRUE(CheckBearerToken({{"authorization", "bearer tok"}}, "tok").ok());
  EXPECT_TRUE(CheckBearerToken({{"authorization", "BEARER tok"}}, "tok").ok());
  EXPECT_TRUE(CheckBearerToken({{"authorization", "Basic x"}, {"authorization", "Bearer tok"}}, "tok").ok());
  EXPECT_FALSE(CheckBearerToken({{"x-authorization", "Bearer tok"}}, "tok").ok());
}

}  // namespace
}  // namespace tessera::serve
