// StringConcat, RegexFullMatch and StringSplit (opset 20) through one-node models: the spec's examples,
// broadcasting, the whitespace rule of StringSplit, and patterns and inputs that must be refused.
#include <gtest/gtest.h>

#include "testing/one_node_model.h"
#include "testing/tensor_values.h"

namespace tessera {
namespace {

using namespace testing;  // NOLINT: the test vocabulary of testing/one_node_model.h and tensor_values.h

TEST(StringConcatTest, BroadcastsARowAgainstAColumn) {
  auto out = OneNodeModel("StringConcat", 20)
                 .Input("x", Str({2, 1}, {"a", "bb"}))
                 .Input("y", Str({3}, {"1", "", "3"}))
                 .Output("z", 2, DType::kString)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{2, 3}));
  EXPECT_EQ(StringValues((*out)[0]), (std::vector<std::string>{"a1", "a", "a3", "bb1", "bb", "bb3"}));
}

TEST(StringConcatTest, ShapesThatDoNotBroadcastAreRefused) {
  auto out = OneNodeModel("StringConcat", 20)
                 .Input("x", Str({2}, {"a", "b"}))
                 .Input("y", Str({3}, {"1", "2", "3"}))
                 .Output("z", 1, DType::kString)
                 .Run();
  EXPECT_FALSE(out.ok());
}

TEST(RegexFullMatchTest, MatchesWholeStringsOnly) {
  auto out = OneNodeModel("RegexFullMatch", 20)
                 .Input("x", Str({4}, {"www.google.com", "www.facebook.com", "www.bbc.co.uk", "xwww.google.com"}))
                 .Output("y", 1, DType::kBool)
                 .String("pattern", R"(www\.[\w.-]+\.\bcom\b)")
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  const uint8_t* y = (*out)[0].data<uint8_t>();
  EXPECT_EQ(std::vector<int>(y, y + 4), (std::vector<int>{1, 1, 0, 0}));
}

TEST(RegexFullMatchTest, InvalidPatternIsRefusedNamingIt) {
  auto out = OneNodeModel("RegexFullMatch", 20)
                 .Input("x", Str({1}, {"a"}))
                 .Output("y", 1, DType::kBool)
                 .String("pattern", "(unclosed")
                 .Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("(unclosed"), std::string::npos) << out.status().message();
}

TEST(RegexFullMatchTest, CatastrophicBacktrackingIsAnErrorNotAHang) {
  auto out = OneNodeModel("RegexFullMatch", 20)
                 .Input("x", Str({1}, {std::string(64, 'a') + "!"}))
                 .Output("y", 1, DType::kBool)
                 .String("pattern", "(a+)+$")
                 .Run();
  // PCRE2 either proves the mismatch quickly or stops at the match limit: never true, never a hang.
  if (out.ok()) {
    EXPECT_EQ((*out)[0].data<uint8_t>()[0], 0);
  } else {
    EXPECT_NE(out.status().message().find("failed"), std::string::npos) << out.status().message();
  }
}

TEST(StringSplitTest, DelimiterWithMaxSplitPadsTheRows) {
  auto out = OneNodeModel("StringSplit", 20)
                 .Input("x", Str({3}, {"a,b,c", "d", ",e,"}))
                 .Output("y", 2, DType::kString)
                 .Output("z", 1, DType::kInt64)
                 .String("delimiter", ",")
                 .Int("maxsplit", 1)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{3, 2}));
  EXPECT_EQ(StringValues((*out)[0]), (std::vector<std::string>{"a", "b,c", "d", "", "", "e,"}));
  const int64_t* z = (*out)[1].data<int64_t>();
  EXPECT_EQ(std::vector<int64_t>(z, z + 3), (std::vector<int64_t>{2, 1, 2}));
}

TEST(StringSplitTest, NoDelimiterSplitsAtWhitespaceRunsAndDropsEmptyPieces) {
  auto out = OneNodeModel("StringSplit", 20)
                 .Input("x", Str({2}, {"  hello   world ", ""}))
                 .Output("y", 2, DType::kString)
                 .Output("z", 1, DType::kInt64)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(StringValues((*out)[0]), (std::vector<std::string>{"hello", "world", "", ""}));
  const int64_t* z = (*out)[1].data<int64_t>();
  EXPECT_EQ(std::vector<int64_t>(z, z + 2), (std::vector<int64_t>{2, 0}));
}

}  // namespace
}  // namespace tessera
