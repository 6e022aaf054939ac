// Batch slicing and joining: uneven slices, unbatched inputs, LSTM-style batch axes, outputs that
// cannot be joined.
#include "parallel/data/batch_split.h"

#include <gtest/gtest.h>

namespace tessera {
namespace {

Tensor Iota(Shape shape) {
  int64_t n = ShapeElementCount(shape);
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i);
  return Tensor::FromVector<float>(DType::kFloat32, std::move(shape), v);
}

TensorInfo Info(const std::string& name, std::vector<int64_t> dims) {
  TensorInfo info;
  info.name = name;
  info.dtype = DType::kFloat32;
  info.has_shape = true;
  info.dims = std::move(dims);
  info.dim_symbols.assign(info.dims.size(), "");
  return info;
}

TEST(BatchSplitTest, UnevenSlicesStartWhereThePreviousEnds) {
  BatchSlices s = SplitBatch(10, 4);
  EXPECT_EQ(s.rows, (std::vector<int64_t>{3, 3, 2, 2}));
  EXPECT_EQ(s.begin, (std::vector<int64_t>{0, 3, 6, 8}));
  BatchSlices small = SplitBatch(2, 3);
  EXPECT_EQ(small.rows, (std::vector<int64_t>{1, 1, 0}));
}

TEST(BatchSplitTest, SlicesJoinBackToTheWhole) {
  Tensor x = Iota({5, 3});
  BatchSlices s = SplitBatch(5, 3);
  std::vector<Tensor> parts;
  for (size_t i = 0; i < s.rows.size(); ++i) {
    auto part = SliceOfBatch(x, 5, s.begin[i], s.begin[i] + s.rows[i]);
    ASSERT_TRUE(part.ok());
    parts.push_back(*part);
  }
  auto joined = JoinBatchSlices(parts, Info("y", {-1, 3}), s.rows[0], "m.onnx");
  ASSERT_TRUE(joined.ok()) << joined.status().message();
  ASSERT_EQ(joined->shape(), x.shape());
  for (int64_t i = 0; i < 15; ++i) EXPECT_EQ(joined->data<float>()[i], x.data<float>()[i]);
}

TEST(BatchSplitTest, InputsWithoutTheBatchGoWhole) {
  Tensor table = Iota({4, 2});
  auto part = SliceOfBatch(table, 6, 0, 3);
  ASSERT_TRUE(part.ok());
  EXPECT_EQ(part->shape(), (Shape{4, 2}));
}

TEST(BatchSplitTest, SymbolicAxisWinsOverTheFirstAxisOfTheSameSize) {
  // [seq=2, batch=2, hidden]: the batch is axis 1, the one the model leaves symbolic.
  Tensor out = Iota({2, 2, 4});
  EXPECT_EQ(OutputBatchAxis(Info("h", {2, -1, 4}), out, 2), 1);
  EXPECT_EQ(OutputBatchAxis(Info("h", {2, 2, 4}), out, 2), 0);
  EXPECT_EQ(OutputBatchAxis(Info("h", {2, 2, 4}), out, 3), -1);
}

TEST(BatchSplitTest, OutputWithoutABatchAxisIsAnError) {
  std::vector<Tensor> parts{Iota({7}), Iota({7})};
  auto joined = JoinBatchSlices(parts, Info("stats", {7}), 2, "m.onnx");
  ASSERT_FALSE(joined.ok());
  EXPECT_NE(joined.status().message().find("output 'stats' of model 'm.onnx'"), std::string::npos);
}

TEST(BatchSplitTest, FeedsMustAllBeThere) {
  std::vector<TensorInfo> inputs{Info("a", {-1, 2}), Info("b", {-1})};
  auto batch = BatchOfFeeds(inputs, {Iota({3, 2}), Tensor()}, "m.onnx");
  ASSERT_FALSE(batch.ok());
  EXPECT_NE(batch.status().message().find("input 'b' is missing"), std::string::npos);
  batch = BatchOfFeeds(inputs, {Iota({3, 2}), Iota({3})}, "m.onnx");
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(*batch, 3);
  EXPECT_FALSE(BatchOfFeeds(inputs, {Iota({3, 2})}, "m.onnx").ok());
}

}  // namespace
}  // namespace tessera
