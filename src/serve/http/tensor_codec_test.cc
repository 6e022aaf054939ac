#include "serve/http/tensor_codec.h"

#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <random>

#include "core/half.h"

namespace tessera::serve::http {
namespace {

using nlohmann::json;

TEST(TensorCodecTest, NestedAndFlatDataGiveTheSameTensor) {
  auto nested = TensorFromJsonData(json::parse("[[1,2,3],[4,5,6]]"), DType::kFloat32, {2, 3}, "x");
  auto flat = TensorFromJsonData(json::parse("[1,2,3,4,5,6]"), DType::kFloat32, {2, 3}, "x");
  ASSERT_TRUE(nested.ok()) << nested.status().ToString();
  ASSERT_TRUE(flat.ok()) << flat.status().ToString();
  EXPECT_EQ(0, std::memcmp(nested->raw_data(), flat->raw_data(), 6 * sizeof(float)));
  EXPECT_EQ(nested->data<float>()[5], 6.0f);
}

TEST(TensorCodecTest, CountNotMatchingShapeNamesBoth) {
  auto t = TensorFromJsonData(json::parse("[1,2,3,4,5]"), DType::kFloat32, {2, 3}, "pixels");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("pixels"), std::string::npos);
  EXPECT_NE(t.status().message().find("5 values"), std::string::npos);
  EXPECT_NE(t.status().message().find("[2,3]"), std::string::npos);
}

TEST(TensorCodecTest, IntegersOutOfRangeOrFractionalAreRefused) {
  EXPECT_FALSE(TensorFromJsonData(json::parse("[127, 128]"), DType::kInt8, {2}, "x").ok());
  EXPECT_FALSE(TensorFromJsonData(json::parse("[-1]"), DType::kUInt32, {1}, "x").ok());
  EXPECT_FALSE(TensorFromJsonData(json::parse("[1.5]"), DType::kInt64, {1}, "x").ok());
  EXPECT_FALSE(TensorFromJsonData(json::parse("[18446744073709551615]"), DType::kInt64, {1}, "x").ok());
  auto ok = TensorFromJsonData(json::parse("[18446744073709551615]"), DType::kUInt64, {1}, "x");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->data<uint64_t>()[0], UINT64_MAX);
}

TEST(TensorCodecTest, WrongLeafTypesAreRefused) {
  EXPECT_FALSE(TensorFromJsonData(json::parse("[1]"), DType::kBool, {1}, "x").ok());
  EXPECT_FALSE(TensorFromJsonData(json::parse("[\"a\"]"), DType::kFloat32, {1}, "x").ok());
  EXPECT_FALSE(TensorFromJsonData(json::parse("[1]"), DType::kString, {1}, "x").ok());
  EXPECT_FALSE(TensorFromJsonData(json::parse("{\"a\":1}"), DType::kFloat32, {1}, "x").ok());
}

TEST(TensorCodecTest, DeepNestingIsRefusedNotRecursedInto) {
  std::string deep(200, '[');
  deep += "1" + std::string(200, ']');
  auto t = TensorFromJsonData(json::parse(deep), DType::kFloat32, {1}, "x");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("nests"), std::string::npos);
}

TEST(TensorCodecTest, HugeShapeWithShortDataAllocatesNothing) {
  auto t = TensorFromJsonData(json::parse("[1]"), DType::kFloat32, {1 << 30, 1 << 30}, "x");
  EXPECT_FALSE(t.ok());
  auto b = TensorFromBinary(std::string(4, '\0'), DType::kString, {int64_t{1} << 40}, "x");
  EXPECT_FALSE(b.ok());
}

TEST(TensorCodecTest, Fp16AndBoolRoundTripThroughJson) {
  auto h = TensorFromJsonData(json::parse("[0.5, -2, 1024]"), DType::kFloat16, {3}, "h");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(HalfToFloat(h->data<uint16_t>()[1]), -2.0f);
  EXPECT_EQ(TensorToJsonData(*h), json::parse("[0.5, -2.0, 1024.0]"));
  auto b = TensorFromJsonData(json::parse("[[true],[false]]"), DType::kBool, {2, 1}, "b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(TensorToJsonData(*b), json::parse("[true, false]"));
}

// Random tensors of every numeric dtype survive binary encode -> decode byte for byte.
TEST(TensorCodecTest, BinaryRoundTripOfRandomTensors) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (DType dtype : {DType::kFloat32, DType::kFloat16, DType::kFloat64, DType::kInt8, DType::kInt16, DType::kInt32,
                      DType::kInt64, DType::kUInt8, DType::kUInt16, DType::kUInt32, DType::kUInt64}) {
    Shape shape = {static_cast<int64_t>(rng() % 4), static_cast<int64_t>(1 + rng() % 5)};
    auto t = Tensor::Allocate(dtype, shape);
    ASSERT_TRUE(t.ok());
    auto* bytes = static_cast<uint8_t*>(t->raw_data());
    for (size_t i = 0; i < t->byte_size(); ++i) bytes[i] = static_cast<uint8_t>(rng());
    std::string wire;
    EXPECT_EQ(AppendTensorBinary(*t, wire), t->byte_size());
    auto back = TensorFromBinary(wire, dtype, shape, "x");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(0, std::memcmp(back->raw_data(), t->raw_data(), t->byte_size()));
    EXPECT_FALSE(TensorFromBinary(wire + "x", dtype, shape, "x").ok());
  }
}

TEST(TensorCodecTest, BinaryBytesAreLengthPrefixed) {
  auto t = TensorFromJsonData(json::parse("[\"ab\", \"\", \"xyz\"]"), DType::kString, {3}, "s");
  ASSERT_TRUE(t.ok());
  std::string wire;
  AppendTensorBinary(*t, wire);
  EXPECT_EQ(wire, std::string("\x02\0\0\0ab\0\0\0\0\x03\0\0\0xyz", 17));
  auto back = TensorFromBinary(wire, DType::kString, {3}, "s");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->data<std::string>()[2], "xyz");
  EXPECT_FALSE(TensorFromBinary(wire.substr(0, 15), DType::kString, {3}, "s").ok());  // element runs past the end
  EXPECT_FALSE(TensorFromBinary(wire.substr(0, 2), DType::kString, {1}, "s").ok());   // inside a length prefix
  EXPECT_FALSE(TensorFromBinary(wire, DType::kString, {2}, "s").ok());                // count mismatch
}

TEST(TensorCodecTest, BinaryBoolIsNormalised) {
  auto t = TensorFromBinary(std::string("\x00\x07", 2), DType::kBool, {2}, "b");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(TensorToJsonData(*t), json::parse("[false, true]"));
}

}  // namespace
}  // namespace tessera::serve::http
