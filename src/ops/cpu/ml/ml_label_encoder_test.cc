// LabelEncoder (versions 1, 2 and 4) and CategoryMapper on string tables, which the ONNX Runtime
// cross-checks (tests/ort_ops/cases_ml.py) cannot carry: both directions, defaults, and tables that must
// be refused.
#include <gtest/gtest.h>

#include "testing/one_node_model.h"
#include "testing/tensor_values.h"

namespace tessera {
namespace {

using namespace testing;  // NOLINT: the test vocabulary of testing/one_node_model.h and tensor_values.h

TEST(LabelEncoderTest, Version1MapsStringsToTheirIndexWithADefault) {
  auto out = OneNodeModel("LabelEncoder", 1, "ai.onnx.ml")
                 .Input("x", Str({3}, {"b", "zz", "a"}))
                 .Output("y", 1, DType::kInt64)
                 .Strings("classes_strings", {"a", "b", "c"})
                 .Int("default_int64", 42)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  const int64_t* y = (*out)[0].data<int64_t>();
  EXPECT_EQ(std::vector<int64_t>(y, y + 3), (std::vector<int64_t>{1, 42, 0}));
}

TEST(LabelEncoderTest, Version1MapsIndicesBackToStrings) {
  auto out = OneNodeModel("LabelEncoder", 1, "ai.onnx.ml")
                 .Input("x", I64({3}, {2, 0, 9}))
                 .Output("y", 1, DType::kString)
                 .Strings("classes_strings", {"a", "b", "c"})
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(StringValues((*out)[0]), (std::vector<std::string>{"c", "a", "_Unused"}));
}

TEST(LabelEncoderTest, Version2StringToStringUsesDefaultString) {
  auto out = OneNodeModel("LabelEncoder", 2, "ai.onnx.ml")
                 .Input("x", Str({2, 2}, {"cat", "dog", "eel", "cat"}))
                 .Output("y", 2, DType::kString)
                 .Strings("keys_strings", {"cat", "dog"})
                 .Strings("values_strings", {"feline", "canine"})
                 .String("default_string", "?")
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(StringValues((*out)[0]), (std::vector<std::string>{"feline", "canine", "?", "feline"}));
}

TEST(LabelEncoderTest, KeysAndValuesOfDifferentCountsAreRefused) {
  auto out = OneNodeModel("LabelEncoder", 2, "ai.onnx.ml")
                 .Input("x", Str({1}, {"cat"}))
                 .Output("y", 1, DType::kInt64)
                 .Strings("keys_strings", {"cat", "dog"})
                 .Ints("values_int64s", {1})
                 .Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("differ in count"), std::string::npos) << out.status().message();
}

TEST(CategoryMapperTest, MapsBothWaysByTheInputType) {
  auto to_int = OneNodeModel("CategoryMapper", 1, "ai.onnx.ml")
                    .Input("x", Str({3}, {"x", "q", "y"}))
                    .Output("y", 1, DType::kInt64)
                    .Strings("cats_strings", {"x", "y"})
                    .Ints("cats_int64s", {7, 8})
                    .Run();
  ASSERT_TRUE(to_int.ok()) << to_int.status().message();
  const int64_t* y = (*to_int)[0].data<int64_t>();
  EXPECT_EQ(std::vector<int64_t>(y, y + 3), (std::vector<int64_t>{7, -1, 8}));
  auto to_string = OneNodeModel("CategoryMapper", 1, "ai.onnx.ml")
                       .Input("x", I64({2}, {8, 1}))
                       .Output("y", 1, DType::kString)
                       .Strings("cats_strings", {"x", "y"})
                       .Ints("cats_int64s", {7, 8})
                       .String("default_string", "none")
                       .Run();
  ASSERT_TRUE(to_string.ok()) << to_string.status().message();
  EXPECT_EQ(StringValues((*to_string)[0]), (std::vector<std::string>{"y", "none"}));
}

}  // namespace
}  // namespace tessera
