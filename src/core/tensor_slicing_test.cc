#include "core/tensor_slicing.h"

#include <gtest/gtest.h>

namespace tessera {
namespace {

Tensor Iota(Shape shape) {
  std::vector<float> v(static_cast<size_t>(ShapeElementCount(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  return Tensor::FromVector<float>(DType::kFloat32, std::move(shape), v);
}

TEST(TensorSlicingTest, EvenSplitGivesTheFirstPartsOneMore) {
  EXPECT_EQ(EvenSplit(10, 4), (std::vector<int64_t>{3, 3, 2, 2}));
  EXPECT_EQ(EvenSplit(2, 3), (std::vector<int64_t>{1, 1, 0}));
  EXPECT_EQ(EvenSplit(0, 2), (std::vector<int64_t>{0, 0}));
}

TEST(TensorSlicingTest, SliceThenConcatRoundTripsOnEveryAxis) {
  Tensor t = Iota({3, 4, 5});
  for (int64_t axis = 0; axis < 3; ++axis) {
    int64_t dim = t.dim(axis);
    std::vector<Tensor> parts;
    for (int64_t b = 0; b < dim; b += 2) parts.push_back(SliceAlongAxis(t, axis, b, std::min(dim, b + 2)).value());
    Tensor joined = ConcatAlongAxis(parts, axis).value();
    ASSERT_EQ(joined.shape(), t.shape()) << "axis " << axis;
    for (int64_t i = 0; i < t.element_count(); ++i) ASSERT_EQ(joined.data<float>()[i], t.data<float>()[i]) << "axis " << axis;
  }
}

TEST(TensorSlicingTest, SliceOfMiddleAxisPicksTheRightElements) {
  Tensor s = SliceAlongAxis(Iota({2, 3, 2}), 1, 1, 2).value();
  ASSERT_EQ(s.shape(), (Shape{2, 1, 2}));
  EXPECT_EQ(std::vector<float>(s.data<float>(), s.data<float>() + 4), (std::vector<float>{2, 3, 8, 9}));
}

TEST(TensorSlicingTest, EmptySlicesAndBadRangesAreHandled) {
  Tensor t = Iota({4, 2});
  EXPECT_EQ(SliceAlongAxis(t, 0, 2, 2).value().element_count(), 0);
  EXPECT_FALSE(SliceAlongAxis(t, 0, 3, 5).ok());
  EXPECT_FALSE(SliceAlongAxis(t, 2, 0, 1).ok());
  EXPECT_FALSE(ConcatAlongAxis({Iota({2, 2}), Iota({2, 3})}, 0).ok());
  EXPECT_FALSE(ConcatAlongAxis({}, 0).ok());
}

}  // namespace
}  // namespace tessera
