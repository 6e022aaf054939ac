// Gather*, Scatter* and TopK through one-node models: hand-checked numpy cases, negative and int32
// indices, empty index tensors, out-of-range indices (which must fail naming the value), duplicate
// indices under reductions, ties in TopK, and a seeded random Gather against a plain reference.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
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
using testing::I32;

TEST(IndexingGatherTest, NegativeAndInt32IndicesOnAxis1) {
  Tensor data = F32({2, 3}, {0, 1, 2, 10, 11, 12});
  auto out = OneNodeModel("Gather", 13).Input("d", data).Input("i", I32({2}, {-1, 0})).Output("y", 2).Int("axis", 1).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(Values<float>((*out)[0]), (std::vector<float>{2, 0, 12, 10}));
}

TEST(IndexingGatherTest, ScalarIndexDropsTheAxis) {
  Tensor data = F32({3, 2}, {0, 1, 2, 3, 4, 5});
  auto out = OneNodeModel("Gather", 11).Input("d", data).Input("i", I64({}, {-2})).Output("y", 1).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{2}));
  EXPECT_EQ(Values<float>((*out)[0]), (std::vector<float>{2, 3}));
}

TEST(IndexingGatherTest, EmptyIndicesGiveEmptyOutput) {
  Tensor data = F32({3, 2}, {0, 1, 2, 3, 4, 5});
  auto out = OneNodeModel("Gather", 13).Input("d", data).Input("i", I64({0}, {})).Output("y", 2).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{0, 2}));
}

TEST(IndexingGatherTest, OutOfRangeIndexIsAnErrorNamingTheValue) {
  Tensor data = F32({3, 2}, {0, 1, 2, 3, 4, 5});
  auto out = OneNodeModel("Gather", 13).Input("d", data).Input("i", I64({2}, {1, 3})).Output("y", 2).Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("value 3 at position 1"), std::string::npos) << out.status().message();
  auto low = OneNodeModel("Gather", 13).Input("d", data).Input("i", I64({1}, {-4})).Output("y", 2).Run();
  ASSERT_FALSE(low.ok());
  EXPECT_NE(low.status().message().find("-4"), std::string::npos) << low.status().message();
}

TEST(IndexingGatherTest, StringRows) {
  Tensor data = Tensor::FromVector(DType::kString, {3}, std::vector<std::string>{"a", "bb", "ccc"});
  auto out = OneNodeModel("Gather", 13).Input("d", data).Input("i", I64({3}, {2, 0, 2})).Output("y", 1, DType::kString).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Values<std::string>((*out)[0]), (std::vector<std::string>{"ccc", "a", "ccc"}));
}

// Random shapes, axes and indices (negative ones included) against a direct reference.
TEST(IndexingGatherTest, RandomShapesMatchReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 20; ++trial) {
    const int rank = 1 + static_cast<int>(rng() % 3);
    Shape shape;
    for (int d = 0; d < rank; ++d) shape.push_back(1 + static_cast<int64_t>(rng() % 5));
    const int64_t axis = static_cast<int64_t>(rng() % static_cast<unsigned>(rank));
    std::vector<float> x(static_cast<size_t>(ShapeElementCount(shape)));
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i);
    const int64_t dim = shape[static_cast<size_t>(axis)];
    std::vector<int64_t> idx(1 + rng() % 6);
    for (int64_t& v : idx) v = static_cast<int64_t>(rng() % static_cast<unsigned>(2 * dim)) - dim;
    auto out = OneNodeModel("Gather", 13)
                   .Input("d", F32(shape, x))
                   .Input("i", I64({static_cast<int64_t>(idx.size())}, idx))
                   .Output("y", rank)
                   .Int("axis", axis - (trial % 2 ? rank : 0))
                   .Run();
    ASSERT_TRUE(out.ok()) << out.status().message();
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < rank; ++d) {
      if (d < axis) outer *= shape[static_cast<size_t>(d)];
      if (d > axis) inner *= shape[static_cast<size_t>(d)];
    }
    const float* y = (*out)[0].data<float>();
    const int64_t n = static_cast<int64_t>(idx.size());
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t j = 0; j < n; ++j) {
        const int64_t src = idx[static_cast<size_t>(j)] < 0 ? idx[static_cast<size_t>(j)] + dim : idx[static_cast<size_t>(j)];
        for (int64_t i = 0; i < inner; ++i) {
          ASSERT_EQ(y[(o * n + j) * inner + i], x[static_cast<size_t>((o * dim + src) * inner + i)])
              << "shape " << ShapeToString(shape) << " axis " << axis;
        }
      }
    }
  }
}

TEST(IndexingGatherElementsTest, NegativeIndicesOnAxis0) {
  Tensor data = F32({3, 2}, {1, 2, 3, 4, 5, 6});
  auto out = OneNodeModel("GatherElements", 13).Input("d", data).Input("i", I64({2, 2}, {-1, 0, 1, -3})).Output("y", 2).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Values<float>((*out)[0]), (std::vector<float>{5, 2, 3, 2}));
}

// Random shapes large enough to split over two threads, every axis, against a direct reference.
TEST(IndexingGatherElementsTest, RandomShapesMatchReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 12; ++trial) {
    const Shape dshape{1 + static_cast<int64_t>(rng() % 4), 1 + static_cast<int64_t>(rng() % 300), 1 + static_cast<int64_t>(rng() % 60)};
    const int64_t axis = trial % 3;
    Shape ishape = dshape;
    for (size_t d = 0; d < 3; ++d) {
      if (static_cast<int64_t>(d) == axis) ishape[d] = 1 + static_cast<int64_t>(rng() % 5);
      else ishape[d] = 1 + static_cast<int64_t>(rng() % static_cast<unsigned>(dshape[d]));
    }
    std::vector<float> x(static_cast<size_t>(ShapeElementCount(dshape)));
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i);
    std::vector<int64_t> idx(static_cast<size_t>(ShapeElementCount(ishape)));
    const int64_t dim = dshape[static_cast<size_t>(axis)];
    for (int64_t& v : idx) v = static_cast<int64_t>(rng() % static_cast<unsigned>(2 * dim)) - dim;
    auto out = OneNodeModel("GatherElements", 13).Input("d", F32(dshape, x)).Input("i", I64(ishape, idx)).Output("y", 3).Int("axis", axis).Run();
    ASSERT_TRUE(out.ok()) << out.status().message();
    const float* y = (*out)[0].data<float>();
    size_t e = 0;
    for (int64_t a = 0; a < ishape[0]; ++a) {
      for (int64_t b = 0; b < ishape[1]; ++b) {
        for (int64_t c = 0; c < ishape[2]; ++c, ++e) {
          int64_t p[3] = {a, b, c};
          p[axis] = idx[e] < 0 ? idx[e] + dim : idx[e];
          ASSERT_EQ(y[e], x[static_cast<size_t>((p[0] * dshape[1] + p[1]) * dshape[2] + p[2])])
              << "data " << ShapeToString(dshape) << " indices " << ShapeToString(ishape) << " axis " << axis;
        }
      }
    }
  }
}

TEST(IndexingGatherElementsTest, OutOfRangeIndexIsAnError) {
  Tensor data = F32({2, 2}, {1, 2, 3, 4});
  auto out = OneNodeModel("GatherElements", 13).Input("d", data).Input("i", I64({1, 2}, {0, 2})).Output("y", 2).Int("axis", 1).Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("value 2"), std::string::npos) << out.status().message();
}

TEST(IndexingGatherNDTest, BatchDimsOne) {
  // numpy: data[b][tuple] for each batch b.
  Tensor data = F32({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  auto out = OneNodeModel("GatherND", 13).Input("d", data).Input("i", I64({2, 1}, {1, 0})).Output("y", 2).Int("batch_dims", 1).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(Values<float>((*out)[0]), (std::vector<float>{2, 3, 4, 5}));
}

TEST(IndexingGatherNDTest, OutOfRangeTupleIsAnError) {
  Tensor data = F32({2, 2}, {0, 1, 2, 3});
  auto out = OneNodeModel("GatherND", 13).Input("d", data).Input("i", I64({1, 2}, {0, 5})).Output("y", 1).Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("value 5"), std::string::npos) << out.status().message();
}

TEST(IndexingScatterElementsTest, DuplicateIndicesAccumulateUnderEveryReduction) {
  Tensor data = F32({1, 3}, {1, 2, 3});
  Tensor idx = I64({1, 4}, {1, 1, -1, 1});
  Tensor upd = F32({1, 4}, {4, 5, 6, 0.5f});
  struct Case {
    const char* reduction;
    std::vector<float> want;
  } cases[] = {{"add", {1, 11.5f, 9}}, {"mul", {1, 20, 18}}, {"max", {1, 5, 6}}, {"min", {1, 0.5f, 3}}};
  for (const Case& c : cases) {
    auto out = OneNodeModel("ScatterElements", 18).Input("d", data).Input("i", idx).Input("u", upd).Output("y", 2)
                   .Int("axis", 1).String("reduction", c.reduction).Run();
    ASSERT_TRUE(out.ok()) << c.reduction << ": " << out.status().message();
    EXPECT_EQ(Values<float>((*out)[0]), c.want) << c.reduction;
  }
}

// int64 overflow under add/mul wraps around (numpy's behaviour) instead of being undefined.
TEST(IndexingScatterElementsTest, IntegerOverflowWraps) {
  const int64_t big = INT64_MAX;
  auto add = OneNodeModel("ScatterElements", 18).Input("d", I64({1}, {big})).Input("i", I64({1}, {0})).Input("u", I64({1}, {1}))
                 .Output("y", 1, DType::kInt64).String("reduction", "add").Run();
  ASSERT_TRUE(add.ok()) << add.status().message();
  EXPECT_EQ(Values<int64_t>((*add)[0]), (std::vector<int64_t>{INT64_MIN}));
  Tensor d16 = Tensor::FromVector(DType::kUInt16, {1}, std::vector<uint16_t>{65535});
  auto mul = OneNodeModel("ScatterElements", 18).Input("d", d16).Input("i", I64({1}, {0})).Input("u", d16)
                 .Output("y", 1, DType::kUInt16).String("reduction", "mul").Run();
  ASSERT_TRUE(mul.ok()) << mul.status().message();
  EXPECT_EQ(Values<uint16_t>((*mul)[0]), (std::vector<uint16_t>{1}));
}

TEST(IndexingScatterElementsTest, EmptyIndicesCopyData) {
  Tensor data = I64({2}, {7, 8});
  auto out = OneNodeModel("ScatterElements", 13).Input("d", data).Input("i", I64({0}, {})).Input("u", I64({0}, {})).Output("y", 1, DType::kInt64).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Values<int64_t>((*out)[0]), (std::vector<int64_t>{7, 8}));
}

TEST(IndexingScatterElementsTest, OutOfRangeIndexIsAnError) {
  Tensor data = F32({3}, {1, 2, 3});
  auto out = OneNodeModel("ScatterElements", 13).Input("d", data).Input("i", I64({1}, {-4})).Input("u", F32({1}, {9})).Output("y", 1).Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("value -4"), std::string::npos) << out.status().message();
}

TEST(IndexingScatterElementsTest, UnknownReductionFailsAtLoad) {
  Tensor data = F32({3}, {1, 2, 3});
  auto out = OneNodeModel("ScatterElements", 18).Input("d", data).Input("i", I64({1}, {0})).Input("u", F32({1}, {9}))
                 .Output("y", 1).String("reduction", "mean").Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("mean"), std::string::npos) << out.status().message();
}

TEST(IndexingScatterNDTest, SliceUpdatesWithDuplicatesAndMax) {
  Tensor data = F32({2, 2}, {1, 2, 3, 4});
  Tensor idx = I64({2, 1}, {1, -1});
  Tensor upd = F32({2, 2}, {0, 9, 5, 1});
  auto out = OneNodeModel("ScatterND", 18).Input("d", data).Input("i", idx).Input("u", upd).Output("y", 2).String("reduction", "max").Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Values<float>((*out)[0]), (std::vector<float>{1, 2, 5, 9}));
}

TEST(IndexingScatterNDTest, WrongUpdatesShapeIsAnError) {
  Tensor data = F32({2, 2}, {1, 2, 3, 4});
  auto out = OneNodeModel("ScatterND", 13).Input("d", data).Input("i", I64({1, 1}, {0})).Input("u", F32({3}, {1, 2, 3})).Output("y", 2).Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("[3]"), std::string::npos) << out.status().message();
}

TEST(IndexingTopKTest, TiesKeepTheLowerIndexFirst) {
  Tensor x = F32({1, 6}, {3, 1, 3, 2, 3, 1});
  auto out = OneNodeModel("TopK", 11).Input("x", x).Input("k", I64({1}, {4})).Output("v", 2).Output("i", 2, DType::kInt64).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Values<float>((*out)[0]), (std::vector<float>{3, 3, 3, 2}));
  EXPECT_EQ(Values<int64_t>((*out)[1]), (std::vector<int64_t>{0, 2, 4, 3}));
  auto smallest = OneNodeModel("TopK", 11).Input("x", x).Input("k", I64({1}, {3})).Output("v", 2).Output("i", 2, DType::kInt64)
                      .Int("largest", 0).Run();
  ASSERT_TRUE(smallest.ok()) << smallest.status().message();
  EXPECT_EQ(Values<int64_t>((*smallest)[1]), (std::vector<int64_t>{1, 5, 3}));
}

TEST(IndexingTopKTest, Opset1AttributeKOnAxis0) {
  Tensor x = F32({3, 2}, {1, 6, 5, 2, 3, 4});
  auto out = OneNodeModel("TopK", 1).Input("x", x).Output("v", 2).Output("i", 2, DType::kInt64).Int("k", 2).Int("axis", 0).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Values<float>((*out)[0]), (std::vector<float>{5, 6, 3, 4}));
  EXPECT_EQ(Values<int64_t>((*out)[1]), (std::vector<int64_t>{1, 0, 2, 2}));
}

// A long row with small k takes the selection path; NaN ranks above every number.
TEST(IndexingTopKTest, SmallKOfLongRowWithNaN) {
  std::vector<float> x(100);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 37) % 50);  // every value twice
  x[60] = NAN;
  auto out = OneNodeModel("TopK", 11).Input("x", F32({100}, x)).Input("k", I64({1}, {3})).Output("v", 1).Output("i", 1, DType::kInt64).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  std::vector<int64_t> want{60};
  for (int64_t v = 49; want.size() < 3; --v) {
    for (int64_t i = 0; i < 100 && want.size() < 3; ++i) {
      if (i != 60 && x[static_cast<size_t>(i)] == static_cast<float>(v)) want.push_back(i);
    }
  }
  EXPECT_EQ(Values<int64_t>((*out)[1]), want);
}

TEST(IndexingTopKTest, KLargerThanAxisIsAnError) {
  Tensor x = F32({3}, {1, 2, 3});
  auto out = OneNodeModel("TopK", 11).Input("x", x).Input("k", I64({1}, {4})).Output("v", 1).Output("i", 1, DType::kInt64).Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("k = 4"), std::string::npos) << out.status().message();
}

}  // namespace
}  // namespace tessera
