// NonZero, Compress, OneHot, Unique, ReverseSequence and NonMaxSuppression through one-node models:
// hand-checked numpy / ONNX Runtime cases, empty inputs and invalid inputs that must fail.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "testing/one_node_model.h"
#include "testing/tensor_values.h"

namespace tessera {
namespace {

using testing::OneNodeModel;
using testing::Values;
using testing::F32;
using testing::I64;

Tensor Bool(Shape shape, std::vector<uint8_t> v) { return Tensor::FromVector(DType::kBool, std::move(shape), v); }

TEST(IndexingNonZeroTest, CoordinatesInRowMajorOrderAndNegativeZeroIsZero) {
  Tensor x = F32({2, 2}, {-0.0f, 3, 0, -1});
  auto out = OneNodeModel("NonZero", 13).Input("x", x).Output("y", 2, DType::kInt64).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(Values<int64_t>((*out)[0]), (std::vector<int64_t>{0, 1, 1, 1}));
}

TEST(IndexingNonZeroTest, EmptyInput) {
  auto out = OneNodeModel("NonZero", 13).Input("x", Bool({0, 3}, {})).Output("y", 2, DType::kInt64).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{2, 0}));
}

TEST(IndexingCompressTest, ShortConditionDropsTheRest) {
  Tensor x = F32({3, 2}, {1, 2, 3, 4, 5, 6});
  auto out = OneNodeModel("Compress", 11).Input("x", x).Input("c", Bool({2}, {0, 1})).Output("y", 2).Int("axis", -2).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{1, 2}));
  EXPECT_EQ(Values<float>((*out)[0]), (std::vector<float>{3, 4}));
}

TEST(IndexingCompressTest, ConditionLongerThanInputIsAnError) {
  Tensor x = F32({2}, {1, 2});
  auto out = OneNodeModel("Compress", 11).Input("x", x).Input("c", Bool({3}, {1, 1, 1})).Output("y", 1).Run();
  ASSERT_FALSE(out.ok());
}

TEST(IndexingOneHotTest, NegativeAndOutOfRangeIndices) {
  // depth 3: -1 -> 2, 3 is out of range and gives an all-off row.
  Tensor idx = I64({3}, {-1, 0, 3});
  auto out = OneNodeModel("OneHot", 11).Input("i", idx).Input("d", F32({}, {3})).Input("v", F32({2}, {0, 5})).Output("y", 2).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{3, 3}));
  EXPECT_EQ(Values<float>((*out)[0]), (std::vector<float>{0, 0, 5, 5, 0, 0, 0, 0, 0}));
}

TEST(IndexingOneHotTest, AxisZero) {
  Tensor idx = I64({2}, {1, 0});
  auto out = OneNodeModel("OneHot", 11).Input("i", idx).Input("d", I64({1}, {2})).Input("v", I64({2}, {0, 1}))
                 .Output("y", 2, DType::kInt64).Int("axis", 0).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Values<int64_t>((*out)[0]), (std::vector<int64_t>{0, 1, 1, 0}));
}

TEST(IndexingOneHotTest, ZeroDepthIsAnError) {
  auto out = OneNodeModel("OneHot", 11).Input("i", I64({1}, {0})).Input("d", I64({}, {0})).Input("v", F32({2}, {0, 1})).Output("y", 2).Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("got 0"), std::string::npos) << out.status().message();
}

TEST(IndexingOneHotTest, HugeDepthFailsInsteadOfCrashing) {
  auto out = OneNodeModel("OneHot", 11).Input("i", I64({4}, {0, 1, 2, 3})).Input("d", I64({}, {int64_t{1} << 62}))
                 .Input("v", F32({2}, {0, 1})).Output("y", 2).Run();
  ASSERT_FALSE(out.ok());
  auto nan = OneNodeModel("OneHot", 11).Input("i", F32({1}, {NAN})).Input("d", I64({}, {3})).Input("v", F32({2}, {0, 1})).Output("y", 2).Run();
  ASSERT_FALSE(nan.ok());
  EXPECT_NE(nan.status().message().find("input 'indices'"), std::string::npos) << nan.status().message();
}

TEST(IndexingUniqueTest, UnsortedKeepsFirstOccurrenceOrder) {
  Tensor x = F32({6}, {2, 1, 1, 3, 4, 3});
  auto out = OneNodeModel("Unique", 11).Input("x", x).Output("y", 1).Output("i", 1, DType::kInt64)
                 .Output("inv", 1, DType::kInt64).Output("c", 1, DType::kInt64).Int("sorted", 0).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Values<float>((*out)[0]), (std::vector<float>{2, 1, 3, 4}));
  EXPECT_EQ(Values<int64_t>((*out)[1]), (std::vector<int64_t>{0, 1, 3, 4}));
  EXPECT_EQ(Values<int64_t>((*out)[2]), (std::vector<int64_t>{0, 1, 1, 2, 3, 2}));
  EXPECT_EQ(Values<int64_t>((*out)[3]), (std::vector<int64_t>{1, 2, 2, 1}));
}

TEST(IndexingUniqueTest, SortedRowsAlongAxis) {
  Tensor x = I64({3, 2}, {2, 0, 1, 5, 2, 0});
  auto out = OneNodeModel("Unique", 11).Input("x", x).Output("y", 2, DType::kInt64).Output("i", 1, DType::kInt64)
                 .Output("inv", 1, DType::kInt64).Output("c", 1, DType::kInt64).Int("axis", 0).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Values<int64_t>((*out)[0]), (std::vector<int64_t>{1, 5, 2, 0}));
  EXPECT_EQ(Values<int64_t>((*out)[1]), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(Values<int64_t>((*out)[2]), (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(Values<int64_t>((*out)[3]), (std::vector<int64_t>{1, 2}));
}

TEST(IndexingUniqueTest, Strings) {
  Tensor x = Tensor::FromVector(DType::kString, {4}, std::vector<std::string>{"b", "a", "b", "c"});
  auto out = OneNodeModel("Unique", 11).Input("x", x).Output("y", 1, DType::kString).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Values<std::string>((*out)[0]), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(IndexingReverseSequenceTest, BatchMajor) {
  Tensor x = F32({2, 3}, {1, 2, 3, 4, 5, 6});
  auto out = OneNodeModel("ReverseSequence", 10).Input("x", x).Input("l", I64({2}, {3, 2})).Output("y", 2)
                 .Int("time_axis", 1).Int("batch_axis", 0).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Values<float>((*out)[0]), (std::vector<float>{3, 2, 1, 5, 4, 6}));
}

TEST(IndexingReverseSequenceTest, LengthBeyondTimeAxisIsAnError) {
  Tensor x = F32({2, 2}, {1, 2, 3, 4});
  auto out = OneNodeModel("ReverseSequence", 10).Input("x", x).Input("l", I64({2}, {1, 3})).Output("y", 2).Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("value 3"), std::string::npos) << out.status().message();
}

TEST(IndexingNmsTest, PerClassSelectionWithThresholds) {
  // Box 1 overlaps box 0 heavily (IoU 0.81); box 2 is apart. Class 1 scores leave only box 2 above 0.3.
  Tensor boxes = F32({1, 3, 4}, {0, 0, 1, 1, 0, 0, 0.9f, 0.9f, 5, 5, 6, 6});
  Tensor scores = F32({1, 2, 3}, {0.9f, 0.8f, 0.7f, 0.1f, 0.2f, 0.4f});
  auto out = OneNodeModel("NonMaxSuppression", 11).Input("b", boxes).Input("s", scores).Input("m", I64({1}, {5}))
                 .Input("iou", F32({1}, {0.5f})).Input("st", F32({1}, {0.3f})).Output("y", 2, DType::kInt64).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Values<int64_t>((*out)[0]), (std::vector<int64_t>{0, 0, 0, 0, 0, 2, 0, 1, 2}));
}

TEST(IndexingNmsTest, NoMaxOutputMeansNothingSelected) {
  Tensor boxes = F32({1, 1, 4}, {0, 0, 1, 1});
  auto out = OneNodeModel("NonMaxSuppression", 11).Input("b", boxes).Input("s", F32({1, 1, 1}, {0.9f})).Output("y", 2, DType::kInt64).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{0, 3}));
}

TEST(IndexingNmsTest, MismatchedScoresShapeIsAnError) {
  Tensor boxes = F32({1, 2, 4}, {0, 0, 1, 1, 0, 0, 1, 1});
  auto out = OneNodeModel("NonMaxSuppression", 11).Input("b", boxes).Input("s", F32({1, 1, 3}, {1, 1, 1})).Output("y", 2, DType::kInt64).Run();
  ASSERT_FALSE(out.ok());
}

}  // namespace
}  // namespace tessera
