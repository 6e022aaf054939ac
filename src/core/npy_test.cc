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
