// Cast and CastLike at edge values: float -> integer (NaN, out of range, negative to unsigned),
// float16/bfloat16 rounding (nearest even, overflow, double rounding), bool, strings both ways, and
// opset 1's string-named target type.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/half.h"
#include "ops/cpu/common/value_convert.h"
#include "testing/one_node_model.h"
#include "testing/tensor_values.h"

namespace tessera {
namespace {

using testing::OneNodeModel;
using testing::Values;

StatusOr<Tensor> CastTo(const Tensor& x, DType to, int opset = 13) {
  OneNodeModel m("Cast", opset);
  m.Input("x", x).Output("y", static_cast<int>(x.rank()), to).Int("to", static_cast<int64_t>(to));
  TS_ASSIGN_OR_RETURN(std::vector<Tensor> out, m.Run());
  return out[0];
}

Tensor F32(std::vector<float> v) { return Tensor::FromVector(DType::kFloat32, {static_cast<int64_t>(v.size())}, v); }

TEST(CastTest, FloatToIntegerTruncatesSaturatesAndMapsNaNToZero) {
  auto out = CastTo(F32({-1.7f, 2.9f, NAN, 3e9f, -3e9f, INFINITY}), DType::kInt32);
  ASSERT_TRUE(out.ok()) << out.status().message();
  // 3e9 is beyond int32 but within int64: it wraps like numpy's cast (3e9 - 2^32); infinity saturates
  // to int64's maximum first, whose low 32 bits read -1.
  EXPECT_EQ(Values<int32_t>(*out), (std::vector<int32_t>{-1, 2, 0, static_cast<int32_t>(3000000000LL - 4294967296LL),
                                                          static_cast<int32_t>(-3000000000LL + 4294967296LL), -1}));
  auto big = CastTo(F32({1e30f, -1e30f, NAN}), DType::kInt64);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(Values<int64_t>(*big), (std::vector<int64_t>{std::numeric_limits<int64_t>::max(),
                                                         std::numeric_limits<int64_t>::min(), 0}));
  auto u8 = CastTo(F32({-1, 256, 255.5f}), DType::kUInt8);
  ASSERT_TRUE(u8.ok());
  EXPECT_EQ(Values<uint8_t>(*u8), (std::vector<uint8_t>{255, 0, 255}));
}

TEST(CastTest, Float16RoundsToNearestEvenAndOverflowsToInfinity) {
  // 1 + 2^-11 is halfway between two float16 values: ties go to the even one (1.0).
  auto out = CastTo(F32({1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 65520.0f, 1e-8f, -0.0f, NAN}), DType::kFloat16);
  ASSERT_TRUE(out.ok()) << out.status().message();
  const auto bits = Values<uint16_t>(*out);
  EXPECT_EQ(HalfToFloat(bits[0]), 1.0f);
  EXPECT_EQ(HalfToFloat(bits[1]), 1.0f + 4.0f / 2048);
  EXPECT_TRUE(std::isinf(HalfToFloat(bits[2])));
  EXPECT_EQ(HalfToFloat(bits[3]), 0.0f);
  EXPECT_EQ(bits[4], 0x8000);
  EXPECT_TRUE(std::isnan(HalfToFloat(bits[5])));
}

TEST(CastTest, DoubleToHalfRoundsOnce) {
  // Just above the float16 midpoint 1 + 2^-11, but rounds to exactly the midpoint as a float: a double
  // rounding through float would then round to even (1.0); rounding once gives 1 + 2^-10.
  const double d = 1.0 + 1.0 / 2048 + 1e-12;
  EXPECT_EQ(HalfToFloat(ConvertValue<Float16>(d).bits), 1.0f + 1.0f / 1024);
  EXPECT_EQ(BFloat16ToFloat(ConvertValue<BFloat16>(1.0 + 1.0 / 256 + 1e-12).bits), 1.0f + 1.0f / 128);
}

TEST(CastTest, BFloat16RoundsToNearestEven) {
  auto out = CastTo(F32({1.0f + 1.0f / 256, 1.0f + 3.0f / 256, -INFINITY}), DType::kBFloat16);
  ASSERT_TRUE(out.ok()) << out.status().message();
  const auto bits = Values<uint16_t>(*out);
  EXPECT_EQ(BFloat16ToFloat(bits[0]), 1.0f);
  EXPECT_EQ(BFloat16ToFloat(bits[1]), 1.0f + 4.0f / 256);
  EXPECT_EQ(BFloat16ToFloat(bits[2]), -INFINITY);
}

TEST(CastTest, BoolIsNonzeroAndReadsBackAsZeroOrOne) {
  auto out = CastTo(F32({0, -0.0f, 0.1f, NAN}), DType::kBool);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Values<uint8_t>(*out), (std::vector<uint8_t>{0, 0, 1, 1}));
  auto back = CastTo(*out, DType::kInt64);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(Values<int64_t>(*back), (std::vector<int64_t>{0, 0, 1, 1}));
}

TEST(CastTest, StringsBothWays) {
  auto text = CastTo(F32({0.1f, -2.5f, 1e20f, NAN, INFINITY, -INFINITY}), DType::kString);
  ASSERT_TRUE(text.ok()) << text.status().message();
  EXPECT_EQ(Values<std::string>(*text), (std::vector<std::string>{"0.1", "-2.5", "1e+20", "NaN", "INF", "-INF"}));
  Tensor s = Tensor::FromVector(DType::kString, {5}, std::vector<std::string>{"1.5", "+INF", "-inf", "nan", " 7 "});
  auto f = CastTo(s, DType::kFloat32);
  ASSERT_TRUE(f.ok()) << f.status().message();
  const auto v = Values<float>(*f);
  EXPECT_EQ(v[0], 1.5f);
  EXPECT_EQ(v[1], INFINITY);
  EXPECT_EQ(v[2], -INFINITY);
  EXPECT_TRUE(std::isnan(v[3]));
  EXPECT_EQ(v[4], 7.0f);
  Tensor ints = Tensor::FromVector(DType::kString, {2}, std::vector<std::string>{"-12", "300"});
  auto i16 = CastTo(ints, DType::kInt16);
  ASSERT_TRUE(i16.ok());
  EXPECT_EQ(Values<int16_t>(*i16), (std::vector<int16_t>{-12, 300}));
}

TEST(CastTest, UnparsableStringIsAnErrorNamingIt) {
  Tensor s = Tensor::FromVector(DType::kString, {2}, std::vector<std::string>{"1", "abc"});
  auto out = CastTo(s, DType::kFloat32);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("abc"), std::string::npos) << out.status().message();
  Tensor big = Tensor::FromVector(DType::kString, {1}, std::vector<std::string>{"300"});
  EXPECT_FALSE(CastTo(big, DType::kInt8).ok());
}

TEST(CastTest, CastLikeTakesTheSecondInputsDtype) {
  OneNodeModel m("CastLike", 15);
  m.Input("x", F32({1.5f, -2.5f})).Input("like", Tensor::FromVector(DType::kInt64, {1}, std::vector<int64_t>{0}));
  m.Output("y", 1, DType::kInt64);
  auto out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Values<int64_t>((*out)[0]), (std::vector<int64_t>{1, -2}));
}

}  // namespace
}  // namespace tessera
