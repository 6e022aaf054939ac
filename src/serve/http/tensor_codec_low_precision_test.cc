// The low-precision datatypes over HTTP (serve/low_precision_wire.h): float8 and int4 in JSON and in
// binary tensor data, the 4-bit packing with an odd count, and values or byte counts that must be refused.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/low_precision.h"
#include "serve/http/tensor_codec.h"
#include "serve/kserve_datatype.h"

namespace tessera::serve::http {
namespace {

using nlohmann::json;

TEST(TensorCodecLowPrecisionTest, DatatypeNamesRoundTrip) {
  for (DType d : {DType::kFloat8E4M3FN, DType::kFloat8E4M3FNUZ, DType::kFloat8E5M2, DType::kFloat8E5M2FNUZ,
                  DType::kFloat8E8M0, DType::kFloat4E2M1, DType::kInt4, DType::kUInt4}) {
    const std::string name = KServeDatatype(d);
    ASSERT_FALSE(name.empty()) << DTypeName(d);
    auto back = DTypeFromKServe(name);
    ASSERT_TRUE(back.ok()) << name;
    EXPECT_EQ(*back, d);
  }
}

TEST(TensorCodecLowPrecisionTest, Float8JsonRoundsToNearestAndSaturates) {
  auto t = TensorFromJsonData(json::parse("[1.0, 0.3, -1000.0]"), DType::kFloat8E4M3FN, {3}, "x");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  const json back = TensorToJsonData(*t);
  EXPECT_EQ(back[0].get<double>(), 1.0);
  const uint8_t code = DoubleToLowPrecision(DType::kFloat8E4M3FN, 0.3);
  EXPECT_EQ(back[1].get<double>(), LowPrecisionToDouble(DType::kFloat8E4M3FN, code));
  EXPECT_EQ(back[2].get<double>(), -448.0);  // e4m3fn's largest finite value
}

TEST(TensorCodecLowPrecisionTest, Float8E8M0JsonRoundsUpToAPowerOfTwo) {
  auto t = TensorFromJsonData(json::parse("[3.0, 0.25, -8.0]"), DType::kFloat8E8M0, {3}, "x");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(std::vector<uint8_t>(t->data<uint8_t>(), t->data<uint8_t>() + 3), (std::vector<uint8_t>{129, 125, 130}));
  const json back = TensorToJsonData(*t);
  EXPECT_EQ(back[0].get<double>(), 4.0);
  EXPECT_EQ(back[1].get<double>(), 0.25);
  EXPECT_EQ(back[2].get<double>(), 8.0);  // no sign in e8m0
  EXPECT_EQ(KServeDatatype(DType::kFloat8E8M0), "FP8E8M0");
}

TEST(TensorCodecLowPrecisionTest, Int4JsonRefusesValuesOutOfRange) {
  EXPECT_TRUE(TensorFromJsonData(json::parse("[-8, 7, 0]"), DType::kInt4, {3}, "x").ok());
  auto t = TensorFromJsonData(json::parse("[-9]"), DType::kInt4, {1}, "x");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("[-8, 7]"), std::string::npos) << t.status().message();
  EXPECT_FALSE(TensorFromJsonData(json::parse("[16]"), DType::kUInt4, {1}, "x").ok());
}

TEST(TensorCodecLowPrecisionTest, FourBitBinaryDataIsPackedTwoPerByteLowNibbleFirst) {
  // Three UINT4 elements 1, 2, 3: bytes 0x21 and 0x03.
  const std::string wire("\x21\x03", 2);
  auto t = TensorFromBinary(wire, DType::kUInt4, {3}, "x");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->data<uint8_t>()[0], 1);
  EXPECT_EQ(t->data<uint8_t>()[1], 2);
  EXPECT_EQ(t->data<uint8_t>()[2], 3);
  std::string out;
  EXPECT_EQ(AppendTensorBinary(*t, out), 2u);
  EXPECT_EQ(out, wire);
}

TEST(TensorCodecLowPrecisionTest, FourBitBinaryWithWrongByteCountOrPaddingIsRefused) {
  EXPECT_FALSE(TensorFromBinary(std::string("\x21\x03\x00", 3), DType::kInt4, {3}, "x").ok());
  auto padded = TensorFromBinary(std::string("\x21\x53", 2), DType::kInt4, {3}, "x");
  ASSERT_FALSE(padded.ok());
  EXPECT_NE(padded.status().message().find("padding"), std::string::npos) << padded.status().message();
}

TEST(TensorCodecLowPrecisionTest, Float8BinaryDataIsOneCodeAByte) {
  auto t = TensorFromBinary(std::string("\x38\xb8", 2), DType::kFloat8E4M3FN, {2}, "x");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(TensorToJsonData(*t), json::parse("[1.0, -1.0]"));
}

}  // namespace
}  // namespace tessera::serve::http
