#include "parallel/comm/tensor_wire.h"

#include <gtest/gtest.h>

namespace tessera {
namespace {

TEST(TensorWireTest, HeaderRoundTripsDtypeShapeAndSize) {
  Tensor t = Tensor::FromVector<int32_t>(DType::kInt32, {2, 3}, std::vector<int32_t>(6, 7));
  std::vector<int64_t> words = EncodeTensorHeader(t);
  auto h = DecodeTensorHeader(words.data(), static_cast<int>(words.size()));
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(h->dtype, DType::kInt32);
  EXPECT_EQ(h->shape, (Shape{2, 3}));
  EXPECT_EQ(h->bytes, 24u);
}

TEST(TensorWireTest, MalformedHeadersAreErrorsNotAllocations) {
  Tensor t = Tensor::FromVector<float>(DType::kFloat32, {4}, std::vector<float>(4, 1.0f));
  std::vector<int64_t> good = EncodeTensorHeader(t);  // [version, dtype, rank, 4, bytes]
  auto decode = [](std::vector<int64_t> w) { return DecodeTensorHeader(w.data(), static_cast<int>(w.size())).status(); };
  std::vector<int64_t> w = good;
  w[0] = kWireVersion + 1;
  EXPECT_NE(decode(w).message().find("version"), std::string::npos);
  w = good;
  w[1] = 9999;  // unknown dtype
  EXPECT_FALSE(decode(w).ok());
  w = good;
  w[3] = -1;  // negative dim
  EXPECT_FALSE(decode(w).ok());
  w = good;
  w[4] = 15;  // byte count that does not match the shape
  EXPECT_FALSE(decode(w).ok());
  w = good;
  w[2] = 40;  // rank beyond the limit
  EXPECT_FALSE(decode(w).ok());
  EXPECT_FALSE(decode({1, 1}).ok());  // too short
}

}  // namespace
}  // namespace tessera
