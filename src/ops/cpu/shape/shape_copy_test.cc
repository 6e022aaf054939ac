// The copying shape ops (Transpose, DepthToSpace/SpaceToDepth, Expand, Tile, Pad, Trilu) against plain
// index-mapping references: seeded random shapes and permutations over every element size and strings,
// shapes large enough for the tiled and parallel paths, zero-size dims, and rejected inputs.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "testing/one_node_model.h"
#include "testing/tensor_values.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

using testing::OneNodeModel;
using testing::Values;

Tensor Iota(Shape shape) {
  std::vector<float> v(static_cast<size_t>(ShapeElementCount(shape)));
  std::iota(v.begin(), v.end(), 0.0f);
  return Tensor::FromVector(DType::kFloat32, std::move(shape), v);
}
Tensor Int64s(std::vector<int64_t> v) { return Tensor::FromVector(DType::kInt64, {static_cast<int64_t>(v.size())}, v); }

// Input element i of each tested dtype: distinct for small i.
template <typename T>
T ElementValue(int64_t i) {
  if constexpr (std::is_same_v<T, std::string>) {
    std::string value = "s";  // appended: GCC 12 misreports "s" + std::to_string(i) (-Wrestrict)
    value += std::to_string(i);
    return value;
  } else {
    return static_cast<T>(i * 7 + 3);
  }
}

template <typename T>
void CheckTranspose(DType dtype, const Shape& shape, const std::vector<int64_t>& perm) {
  const int64_t n = ShapeElementCount(shape);
  std::vector<T> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[static_cast<size_t>(i)] = ElementValue<T>(i);
  auto out = OneNodeModel("Transpose", 13)
                 .Input("x", Tensor::FromVector(dtype, shape, x))
                 .Output("y", static_cast<int>(shape.size()), dtype)
                 .Ints("perm", perm)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  const Tensor& y = (*out)[0];
  Shape out_shape;
  for (int64_t p : perm) out_shape.push_back(shape[static_cast<size_t>(p)]);
  ASSERT_EQ(y.shape(), out_shape);
  const std::vector<int64_t> in_strides = ContiguousStrides(shape);
  std::vector<int64_t> index(shape.size(), 0);
  for (int64_t o = 0; o < n; ++o) {
    int64_t src = 0;
    for (size_t d = 0; d < perm.size(); ++d) src += index[d] * in_strides[static_cast<size_t>(perm[d])];
    ASSERT_EQ(y.data<T>()[o], x[static_cast<size_t>(src)])
        << "shape " << ShapeToString(shape) << " perm " << ShapeToString(perm) << " at " << o;
    for (size_t d = index.size(); d-- > 0;) {
      if (++index[d] < out_shape[d]) break;
      index[d] = 0;
    }
  }
}

TEST(ShapeTransposeTest, RandomShapesPermutationsAndDtypesMatchReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 40; ++trial) {
    const int rank = 1 + static_cast<int>(rng() % 5);
    Shape shape;
    for (int d = 0; d < rank; ++d) shape.push_back(1 + static_cast<int64_t>(rng() % 6));
    std::vector<int64_t> perm(static_cast<size_t>(rank));
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    switch (trial % 5) {
      case 0:
        CheckTranspose<float>(DType::kFloat32, shape, perm);
        break;
      case 1:
        CheckTranspose<uint8_t>(DType::kUInt8, shape, perm);
        break;
      case 2:
        CheckTranspose<int64_t>(DType::kInt64, shape, perm);
        break;
      case 3:
        CheckTranspose<uint16_t>(DType::kFloat16, shape, perm);
        break;
      default:
        CheckTranspose<std::string>(DType::kString, shape, perm);
        break;
    }
  }
}

TEST(ShapeTransposeTest, LargeMatricesUseTiledParallelPath) {
  CheckTranspose<float>(DType::kFloat32, {403, 397}, {1, 0});
  CheckTranspose<double>(DType::kFloat64, {3, 130, 129}, {0, 2, 1});
  CheckTranspose<uint8_t>(DType::kUInt8, {37, 5, 300}, {2, 1, 0});
  // NCHW -> NHWC with 3 channels: the tile's columns are narrower than one SSE block.
  CheckTranspose<float>(DType::kFloat32, {2, 3, 70, 75}, {0, 2, 3, 1});
  CheckTranspose<uint16_t>(DType::kFloat16, {2, 3, 9, 7}, {0, 2, 3, 1});
}

TEST(ShapeTransposeTest, ZeroSizeDimAndBadPermutation) {
  CheckTranspose<float>(DType::kFloat32, {2, 0, 3}, {2, 0, 1});
  auto out = OneNodeModel("Transpose", 13).Input("x", Iota({2, 3})).Output("y", 2).Ints("perm", {0, 0}).Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("perm"), std::string::npos) << out.status().message();
}

TEST(ShapeDepthToSpaceTest, SpaceToDepthInvertsBothModes) {
  const Tensor x = Iota({2, 8, 3, 5});
  for (const char* mode : {"DCR", "CRD"}) {
    auto d2s =
        OneNodeModel("DepthToSpace", 13).Input("x", x).Output("y", 4).Int("blocksize", 2).String("mode", mode).Run();
    ASSERT_TRUE(d2s.ok()) << d2s.status().message();
    ASSERT_EQ((*d2s)[0].shape(), (Shape{2, 2, 6, 10}));
    if (std::string(mode) == "DCR") {
      // DCR is SpaceToDepth's inverse.
      auto s2d = OneNodeModel("SpaceToDepth", 13).Input("x", (*d2s)[0]).Output("y", 4).Int("blocksize", 2).Run();
      ASSERT_TRUE(s2d.ok()) << s2d.status().message();
      EXPECT_EQ(Values<float>((*s2d)[0]), Values<float>(x));
    } else {
      // CRD: y[n, c, h*2+i, w*2+j] = x[n, c*4 + i*2 + j, h, w].
      EXPECT_EQ((*d2s)[0].data<float>()[(((1 * 2 + 1) * 6 + 3) * 10) + 4],
                x.data<float>()[((1 * 8 + 1 * 4 + 1 * 2 + 0) * 3 + 1) * 5 + 2]);
    }
  }
  auto bad = OneNodeModel("DepthToSpace", 13).Input("x", Iota({1, 6, 2, 2})).Output("y", 4).Int("blocksize", 2).Run();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("[1,6,2,2]"), std::string::npos) << bad.status().message();
}

TEST(ShapeExpandTest, BroadcastsBothWaysAndRejectsIncompatible) {
  auto out = OneNodeModel("Expand", 13).Input("x", Iota({3, 1})).Input("s", Int64s({2, 1, 4})).Output("y", 3).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{2, 3, 4}));
  EXPECT_EQ((*out)[0].data<float>()[23], 2.0f);
  auto zero = OneNodeModel("Expand", 13).Input("x", Iota({3, 1})).Input("s", Int64s({0, 3, 4})).Output("y", 3).Run();
  ASSERT_TRUE(zero.ok()) << zero.status().message();
  EXPECT_EQ((*zero)[0].shape(), (Shape{0, 3, 4}));
  auto bad = OneNodeModel("Expand", 13).Input("x", Iota({3, 2})).Input("s", Int64s({4, 4})).Output("y", 2).Run();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("[3,2]"), std::string::npos) << bad.status().message();
}

TEST(ShapeTileTest, RepeatsEveryDimIncludingZero) {
  auto out = OneNodeModel("Tile", 13).Input("x", Iota({2, 2})).Input("r", Int64s({2, 3})).Output("y", 2).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ((*out)[0].shape(), (Shape{4, 6}));
  EXPECT_EQ(Values<float>((*out)[0]).at(6 * 3 + 5), 3.0f);  // row 3 = input row 1, col 5 = input col 1
  auto zero = OneNodeModel("Tile", 13).Input("x", Iota({2, 2})).Input("r", Int64s({0, 1})).Output("y", 2).Run();
  ASSERT_TRUE(zero.ok()) << zero.status().message();
  EXPECT_EQ((*zero)[0].shape(), (Shape{0, 2}));
}

TEST(ShapePadTest, ModesAndNegativePads) {
  const Tensor x = Iota({1, 3});
  auto reflect = OneNodeModel("Pad", 13)
                     .Input("x", x)
                     .Input("p", Int64s({0, 2, 0, 2}))
                     .Output("y", 2)
                     .String("mode", "reflect")
                     .Run();
  ASSERT_TRUE(reflect.ok()) << reflect.status().message();
  EXPECT_EQ(Values<float>((*reflect)[0]), (std::vector<float>{2, 1, 0, 1, 2, 1, 0}));
  auto edge = OneNodeModel("Pad", 13)
                  .Input("x", x)
                  .Input("p", Int64s({1, 1, 0, 0}))
                  .Output("y", 2)
                  .String("mode", "edge")
                  .Run();
  ASSERT_TRUE(edge.ok()) << edge.status().message();
  EXPECT_EQ(Values<float>((*edge)[0]), (std::vector<float>{0, 0, 1, 2, 0, 0, 1, 2}));
  auto crop =
      OneNodeModel("Pad", 2).Input("x", x).Output("y", 2).Ints("pads", {0, -1, 1, 1}).Float("value", 9.0f).Run();
  ASSERT_TRUE(crop.ok()) << crop.status().message();
  EXPECT_EQ(Values<float>((*crop)[0]), (std::vector<float>{1, 2, 9, 9, 9, 9}));
  auto bad = OneNodeModel("Pad", 13).Input("x", x).Input("p", Int64s({0, -4, 0, 0})).Output("y", 2).Run();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("[1,3]"), std::string::npos) << bad.status().message();
}

TEST(ShapeTileTest, OverflowingRepeatsAreRejected) {
  auto out = OneNodeModel("Tile", 13)
                 .Input("x", Iota({4, 2}))
                 .Input("r", Int64s({std::numeric_limits<int64_t>::max(), 1}))
                 .Output("y", 2)
                 .Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("repeats"), std::string::npos) << out.status().message();
}

TEST(ShapePadTest, HugePadsFailWithoutCrashing) {
  for (int64_t pad : {std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min(), int64_t{1} << 40}) {
    auto out = OneNodeModel("Pad", 13).Input("x", Iota({1, 3})).Input("p", Int64s({0, pad, 0, 0})).Output("y", 2).Run();
    EXPECT_FALSE(out.ok()) << pad;
  }
}

TEST(ShapeTriluTest, ExtremeKAndBatches) {
  auto upper = OneNodeModel("Trilu", 14).Input("x", Iota({2, 2, 3})).Input("k", Int64s({1})).Output("y", 3).Run();
  ASSERT_TRUE(upper.ok()) << upper.status().message();
  EXPECT_EQ(Values<float>((*upper)[0]), (std::vector<float>{0, 1, 2, 0, 0, 5, 0, 7, 8, 0, 0, 11}));
  auto lower = OneNodeModel("Trilu", 14)
                   .Input("x", Iota({2, 3}))
                   .Input("k", Int64s({std::numeric_limits<int64_t>::min()}))
                   .Output("y", 2)
                   .Int("upper", 0)
                   .Run();
  ASSERT_TRUE(lower.ok()) << lower.status().message();
  EXPECT_EQ(Values<float>((*lower)[0]), (std::vector<float>(6, 0.0f)));
}

}  // namespace
}  // namespace tessera
