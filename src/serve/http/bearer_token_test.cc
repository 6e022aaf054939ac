#include "serve/http/bearer_token.h"

#include <gtest/gtest.h>

namespace tessera::serve::http {
namespace {

TEST(BearerTokenTest, OnlyTheExactTokenMatches) {
  EXPECT_TRUE(BearerTokenMatches("Bearer abc123", "abc123"));
  EXPECT_TRUE(BearerTokenMatches("bearer abc123", "abc123")) << "the scheme is case-insensitive";
  EXPECT_FALSE(BearerTokenMatches("Bearer ABC123", "abc123")) << "the token is not";
  EXPECT_FALSE(BearerTokenMatches("Bearer abc12", "abc123"));
  EXPECT_FALSE(BearerTokenMatches("Bearer abc1234", "abc123"));
  EXPECT_FALSE(BearerTokenMatches("Bearer  abc123", "abc123"));
  EXPECT_FALSE(BearerTokenMatches("Basic abc123", "abc123"));
  EXPECT_FALSE(BearerTokenMatches("abc123", "abc123"));
  EXPECT_FALSE(BearerTokenMatches("", "abc123"));
}

TEST(BearerTokenTest, AnEmptyTokenNeverMatches) {
  EXPECT_FALSE(BearerTokenMatches("Bearer ", ""));
}

}  // namespace
}  // namespace tessera::serve::http
