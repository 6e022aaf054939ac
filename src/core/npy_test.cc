// .npy round trips and rejection of corrupt files.
#include "core/npy.h"

#include <gtest/gtest.h>

#include <cstring>

namespace tessera {
namespace {

TEST(NpyTest, RoundTripsEveryDtype) {
  for (DType dtype : {DType::kFloat32, DType::kFloat64, DType::kFloat16, DType::kInt8, DType::kUInt8, DType::kInt16,
                      DType::kInt32, DType::kInt64, DType::kBool}) {
    auto t = Tensor::Allocate(dtype, {2, 3});
    ASSERT_TRUE(t.ok());
    auto* bytes = static_cast<uint8_t*>(t->raw_data());
    for (size_t i = 0; i < t->byte_size(); ++i) bytes[i] = dtype == DType::kBool ? i % 2 : static_cast<uint8_t>(i * 7);
    auto back = ParseNpy(SerializeNpy(*t), "x.npy");
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(back->dtype(), dtype);
    EXPECT_EQ(back->shape(), (Shape{2, 3}));
    EXPECT_EQ(0, std::memcmp(back->raw_data(), t->raw_data(), t->byte_size())) << DTypeName(dtype);
  }
}

TEST(NpyTest, ScalarAndEmptyShapes) {
  for (Shape shape : {Shape{}, Shape{0}, Shape{4}, Shape{0, 5}}) {
    auto t = Tensor::Allocate(DType::kFloat32, shape);
    ASSERT_TRUE(t.ok());
    auto back = ParseNpy(SerializeNpy(*t), "x.npy");
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(back->shape(), shape);
  }
}

TEST(NpyTest, TruncatedDataIsRejected) {
  auto t = Tensor::Allocate(DType::kFloat32, {8});
  std::string bytes = SerializeNpy(*t);
  bytes.resize(bytes.size() - 3);
  auto back = ParseNpy(bytes, "short.npy");
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.status().message().find("short.npy"), std::string::npos);
}

TEST(NpyTest, GarbageIsRejected) {
  EXPECT_FALSE(ParseNpy("", "a.npy").ok());
  EXPECT_FALSE(ParseNpy("\x93NUMPY\x01\x00\xff\xff{}", "b.npy").ok());
  EXPECT_FALSE(ParseNpy(std::string("\x93NUMPY\x01\x00\x20\x00{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", 42), "c.npy").ok());
}

TEST(NpyTest, HugeShapeIsRejectedWithoutAllocating) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (999999999999, 999999999), }";
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes.push_back(static_cast<char>(header.size()));
  bytes.push_back(0);
  bytes += header;
  EXPECT_FALSE(ParseNpy(bytes, "huge.npy").ok());
}

}  // namespace
}  // namespace tessera

namespace tessera {
namespace {

// Types numpy lacks are written as raw codes and read back as their type for an input declared so.
TEST(NpyLowPrecisionTest, RawCodesRoundTripThroughTheDeclaredType) {
  for (DType dtype : {DType::kBFloat16, DType::kFloat8E4M3FN, DType::kFloat8E4M3FNUZ, DType::kFloat8E5M2,
                      DType::kFloat8E5M2FNUZ, DType::kFloat8E8M0, DType::kUInt4, DType::kInt4, DType::kFloat4E2M1}) {
    auto t = Tensor::Allocate(dtype, {3});
    ASSERT_TRUE(t.ok());
    auto* bytes = static_cast<uint8_t*>(t->raw_data());
    const bool four_bit = dtype == DType::kUInt4 || dtype == DType::kInt4 || dtype == DType::kFloat4E2M1;
    for (size_t i = 0; i < t->byte_size(); ++i) bytes[i] = static_cast<uint8_t>(four_bit ? (i * 7) & 0xF : i * 77 + 9);
    auto parsed = ParseNpy(SerializeNpy(*t), "x.npy");
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    EXPECT_NE(parsed->dtype(), dtype);  // numpy's view: uint8/int8/uint16
    auto back = ConvertNpyToDeclared(*parsed, dtype, "input 'x'");
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(back->dtype(), dtype);
    EXPECT_EQ(0, std::memcmp(back->raw_data(), t->raw_data(), t->byte_size())) << DTypeName(dtype);
  }
}

TEST(NpyLowPrecisionTest, Int4IsWrittenSignExtended) {
  Tensor t = Tensor::FromVector<uint8_t>(DType::kInt4, {2}, {0x7, 0x8});
  auto parsed = ParseNpy(SerializeNpy(t), "x.npy");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->dtype(), DType::kInt8);
  EXPECT_EQ(parsed->data<int8_t>()[0], 7);
  EXPECT_EQ(parsed->data<int8_t>()[1], -8);
}

TEST(NpyLowPrecisionTest, OutOfRangeFourBitCodeNamesTheElement) {
  Tensor codes = Tensor::FromVector<uint8_t>(DType::kUInt8, {2}, {3, 16});
  auto t = ConvertNpyToDeclared(codes, DType::kUInt4, "input 'w'");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("input 'w': element 1 is 16"), std::string::npos) << t.status().message();
}

TEST(NpyLowPrecisionTest, FloatArraysConvertToHalfAndFloat8Inputs) {
  Tensor f = Tensor::FromVector<float>(DType::kFloat32, {3}, {1.0f, 1000.0f, -0.3f});
  auto e4 = ConvertNpyToDeclared(f, DType::kFloat8E4M3FN, "x");
  ASSERT_TRUE(e4.ok());
  EXPECT_EQ(e4->data<uint8_t>()[0], 0x38);
  EXPECT_EQ(e4->data<uint8_t>()[1], 0x7E);  // saturated
  EXPECT_EQ(e4->data<uint8_t>()[2], 0xAA);
  auto bf = ConvertNpyToDeclared(f, DType::kBFloat16, "x");
  ASSERT_TRUE(bf.ok());
  EXPECT_EQ(bf->data<uint16_t>()[0], 0x3F80);
  auto same = ConvertNpyToDeclared(f, DType::kInt32, "x");  // other pairings are left to the dtype check
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->dtype(), DType::kFloat32);
}

}  // namespace
}  // namespace tessera
