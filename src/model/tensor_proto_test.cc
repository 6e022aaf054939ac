// Initializers of the newer ONNX element types: float8 from raw_data and int32_data, the 4-bit types
// packed two per byte (odd counts, wrong sizes), and data_type numbers beyond ONNX 1.12's enum, which
// TensorProto keeps as a plain int32 field through a parse.
#include "model/tensor_proto.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tessera {
namespace {

std::vector<uint8_t> Bytes(const Tensor& t) {
  const auto* p = t.data<uint8_t>();
  return std::vector<uint8_t>(p, p + t.byte_size());
}

onnx::TensorProto Proto(int data_type, std::vector<int64_t> dims) {
  onnx::TensorProto proto;
  proto.set_name("w");
  proto.set_data_type(data_type);
  for (int64_t d : dims) proto.add_dims(d);
  return proto;
}

TEST(TensorProtoTest, DataTypeNumbersBeyondTheLibraryEnumSurviveAParse) {
  onnx::TensorProto proto = Proto(23, {2});
  proto.set_raw_data(std::string(1, '\x71'));
  onnx::TensorProto parsed;
  ASSERT_TRUE(parsed.ParseFromString(proto.SerializeAsString()));
  EXPECT_EQ(parsed.data_type(), 23);
  auto t = TakeTensorFromProto(parsed, nullptr);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->dtype(), DType::kFloat4E2M1);
  EXPECT_EQ(Bytes(*t), (std::vector<uint8_t>{0x1, 0x7}));
}

TEST(TensorProtoTest, Float8FromRawDataAndInt32Data) {
  onnx::TensorProto raw = Proto(17, {3});
  raw.set_raw_data(std::string("\x38\xFE\x01", 3));
  auto a = TakeTensorFromProto(raw, nullptr);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->dtype(), DType::kFloat8E4M3FN);
  EXPECT_EQ(Bytes(*a), (std::vector<uint8_t>{0x38, 0xFE, 0x01}));
  onnx::TensorProto typed = Proto(20, {2});
  typed.add_int32_data(0x40);
  typed.add_int32_data(0x80);
  auto b = TakeTensorFromProto(typed, nullptr);
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(Bytes(*b), (std::vector<uint8_t>{0x40, 0x80}));
}

TEST(TensorProtoTest, Int4RawDataIsUnpackedLowNibbleFirst) {
  onnx::TensorProto proto = Proto(22, {3});  // 3 elements in 2 bytes, the last high nibble padding
  proto.set_raw_data(std::string("\x8F\x07", 2));
  auto t = TakeTensorFromProto(proto, nullptr);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->element_count(), 3);
  EXPECT_EQ(t->byte_size(), 3u);
  EXPECT_EQ(Bytes(*t), (std::vector<uint8_t>{0xF, 0x8, 0x7}));
}

TEST(TensorProtoTest, FourBitRawDataOfTheUnpackedSizeIsRejected) {
  onnx::TensorProto proto = Proto(21, {3});
  proto.set_raw_data(std::string(3, '\x01'));
  auto t = TakeTensorFromProto(proto, nullptr);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("raw_data has 3 bytes"), std::string::npos) << t.status().message();
  EXPECT_NE(t.status().message().find("need 2"), std::string::npos) << t.status().message();
}

TEST(TensorProtoTest, FourBitInt32DataHoldsOnePackedBytePerValue) {
  onnx::TensorProto proto = Proto(21, {2, 2});
  proto.add_int32_data(0x21);
  proto.add_int32_data(0xF3);
  auto t = TakeTensorFromProto(proto, nullptr);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(Bytes(*t), (std::vector<uint8_t>{0x1, 0x2, 0x3, 0xF}));
  onnx::TensorProto unpacked = Proto(21, {2, 2});
  for (int v : {1, 2, 3, 15}) unpacked.add_int32_data(v);
  EXPECT_FALSE(TakeTensorFromProto(unpacked, nullptr).ok());
}

TEST(TensorProtoTest, DataTypeBeyondTheKnownOnesIsAnError) {
  onnx::TensorProto proto = Proto(25, {1});  // uint2 (ONNX 1.20): not supported
  proto.set_raw_data(std::string(1, '\0'));
  auto t = TakeTensorFromProto(proto, nullptr);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("unknown data_type 25"), std::string::npos) << t.status().message();
}

TEST(TensorProtoTest, Float8E8M0LoadsFromRawDataAndInt32Data) {
  onnx::TensorProto raw = Proto(24, {3});
  raw.set_raw_data(std::string("\x7F\x00\xFF", 3));
  auto t = TakeTensorFromProto(raw, nullptr);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->dtype(), DType::kFloat8E8M0);
  EXPECT_EQ(std::vector<uint8_t>(t->data<uint8_t>(), t->data<uint8_t>() + 3), (std::vector<uint8_t>{0x7F, 0, 0xFF}));
  onnx::TensorProto fields = Proto(24, {2});
  fields.add_int32_data(130);
  fields.add_int32_data(1);
  auto u = TakeTensorFromProto(fields, nullptr);
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ(std::vector<uint8_t>(u->data<uint8_t>(), u->data<uint8_t>() + 2), (std::vector<uint8_t>{130, 1}));
}

}  // namespace
}  // namespace tessera
