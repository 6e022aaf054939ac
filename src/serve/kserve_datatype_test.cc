#include "serve/kserve_datatype.h"

#include <gtest/gtest.h>

namespace tessera::serve {
namespace {

TEST(KServeDatatypeTest, NamesRoundTrip) {
  for (DType d : {DType::kBool, DType::kUInt8, DType::kInt8, DType::kInt32, DType::kInt64, DType::kFloat16,
                  DType::kFloat32, DType::kFloat64, DType::kString, DType::kBFloat16}) {
    auto back = DTypeFromKServe(KServeDatatype(d));
    ASSERT_TRUE(back.ok()) << DTypeName(d);
    EXPECT_EQ(*back, d);
  }
  EXPECT_EQ(KServeDatatype(DType::kFloat32), "FP32");
  EXPECT_EQ(KServeDatatype(DType::kString), "BYTES");
}

TEST(KServeDatatypeTest, UnknownNameIsAnError) {
  auto d = DTypeFromKServe("FLOAT32");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("FLOAT32"), std::string::npos);
  EXPECT_EQ(KServeDatatype(DType::kUndefined), "");
}

}  // namespace
}  // namespace tessera::serve
