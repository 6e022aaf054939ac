// Data-movement ops pass the newer element types through unchanged: the 4-bit types are one element per
// byte in a Tensor, so Transpose, Concat, Gather, Slice, Reshape and Where move them as bytes; odd
// element counts included.
#include <gtest/gtest.h>

#include <vector>

#include "testing/one_node_model.h"
#include "testing/tensor_values.h"

namespace tessera {
namespace {

using testing::OneNodeModel;
using testing::Values;

Tensor Codes(DType t, Shape shape, std::vector<uint8_t> v) { return Tensor::FromVector(t, std::move(shape), v); }
Tensor I64(std::vector<int64_t> v) { return Tensor::FromVector(DType::kInt64, {static_cast<int64_t>(v.size())}, v); }

TEST(ShapeLowPrecisionTest, TransposeOfAnOddSizedInt4Constant) {
  OneNodeModel m("Transpose", 13);
  m.Input("x", Codes(DType::kInt4, {3, 1}, {0x1, 0x8, 0xF}), true).Output("y", 2, DType::kInt4).Ints("perm", {1, 0});
  auto out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].dtype(), DType::kInt4);
  EXPECT_EQ((*out)[0].shape(), (Shape{1, 3}));
  EXPECT_EQ(Values<uint8_t>((*out)[0]), (std::vector<uint8_t>{0x1, 0x8, 0xF}));
}

TEST(ShapeLowPrecisionTest, ConcatGatherAndSliceKeepFloat8Bytes) {
  OneNodeModel concat("Concat", 13);
  concat.Input("a", Codes(DType::kFloat8E5M2, {2}, {0x3C, 0x7C})).Input("b", Codes(DType::kFloat8E5M2, {1}, {0xFF}));
  concat.Output("y", 1, DType::kFloat8E5M2).Int("axis", 0);
  auto c = concat.Run();
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(Values<uint8_t>((*c)[0]), (std::vector<uint8_t>{0x3C, 0x7C, 0xFF}));

  OneNodeModel gather("Gather", 13);
  gather.Input("x", Codes(DType::kFloat4E2M1, {5}, {0x1, 0x2, 0x3, 0x4, 0xF})).Input("i", I64({4, 0, 4}));
  gather.Output("y", 1, DType::kFloat4E2M1);
  auto g = gather.Run();
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(Values<uint8_t>((*g)[0]), (std::vector<uint8_t>{0xF, 0x1, 0xF}));

  OneNodeModel slice("Slice", 13);
  slice.Input("x", Codes(DType::kUInt4, {5}, {0, 1, 2, 3, 4})).Input("s", I64({1}), true).Input("e", I64({4}), true);
  slice.Output("y", 1, DType::kUInt4);
  auto s = slice.Run();
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(Values<uint8_t>((*s)[0]), (std::vector<uint8_t>{1, 2, 3}));
}

TEST(ShapeLowPrecisionTest, ReshapeAndWhere) {
  OneNodeModel reshape("Reshape", 14);
  reshape.Input("x", Codes(DType::kFloat8E4M3FNUZ, {2, 3}, {1, 2, 3, 4, 5, 6})).Input("s", I64({3, 2}), true);
  reshape.Output("y", 2, DType::kFloat8E4M3FNUZ);
  auto r = reshape.Run();
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)[0].shape(), (Shape{3, 2}));

  OneNodeModel where("Where", 16);
  where.Input("c", Tensor::FromVector<uint8_t>(DType::kBool, {3}, {1, 0, 1}));
  where.Input("x", Codes(DType::kInt4, {3}, {0x1, 0x2, 0x3})).Input("y", Codes(DType::kInt4, {1}, {0x9}));
  where.Output("z", 1, DType::kInt4);
  auto w = where.Run();
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_EQ(Values<uint8_t>((*w)[0]), (std::vector<uint8_t>{0x1, 0x9, 0x3}));
}

}  // namespace
}  // namespace tessera
