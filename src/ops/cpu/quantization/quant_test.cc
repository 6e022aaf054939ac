// The quantization family: QuantizeLinear rounding (half to even) and saturation, per-axis parameters,
// DequantizeLinear of int32, DynamicQuantizeLinear's parameters, MatMulInteger / QLinearMatMul with zero
// points, and ConvInteger / QLinearConv against a direct-convolution reference over strides, pads,
// dilations and groups.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>

#include "ops/cpu/quantization/quant_common.h"
#include "testing/one_node_model.h"
#include "testing/tensor_values.h"

namespace tessera {
namespace {

using testing::OneNodeModel;
using testing::Values;

TEST(QuantizeLinearTest, RoundsHalfToEvenAndSaturates) {
  Tensor x =
      Tensor::FromVector(DType::kFloat32, {8}, std::vector<float>{0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 300, -300});
  Tensor scale = Tensor::FromVector(DType::kFloat32, {}, std::vector<float>{1.0f});
  auto s8 = OneNodeModel("QuantizeLinear", 13)
                .Input("x", x)
                .Input("s", scale)
                .Input("z", Tensor::FromVector(DType::kInt8, {}, std::vector<int8_t>{0}))
                .Output("y", 1, DType::kInt8)
                .Run();
  ASSERT_TRUE(s8.ok()) << s8.status().message();
  EXPECT_EQ(Values<int8_t>((*s8)[0]), (std::vector<int8_t>{0, 2, 2, 0, -2, -2, 127, -128}));
  // No zero point: uint8 output, zero point 0.
  auto u8 = OneNodeModel("QuantizeLinear", 10).Input("x", x).Input("s", scale).Output("y", 1, DType::kUInt8).Run();
  ASSERT_TRUE(u8.ok()) << u8.status().message();
  EXPECT_EQ((*u8)[0].dtype(), DType::kUInt8);
  EXPECT_EQ(Values<uint8_t>((*u8)[0]), (std::vector<uint8_t>{0, 2, 2, 0, 0, 0, 255, 0}));
}

TEST(QuantizeLinearTest, ZeroPointShiftsBeforeSaturation) {
  Tensor x = Tensor::FromVector(DType::kFloat32, {4}, std::vector<float>{-1.0f, 1.0f, 254.0f, 3.0f});
  auto out = OneNodeModel("QuantizeLinear", 13)
                 .Input("x", x)
                 .Input("s", Tensor::FromVector(DType::kFloat32, {}, std::vector<float>{2.0f}))
                 .Input("z", Tensor::FromVector(DType::kUInt8, {}, std::vector<uint8_t>{128}))
                 .Output("y", 1, DType::kUInt8)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  // -0.5 -> 0 (even), 0.5 -> 0, 127 -> 255, 1.5 -> 2; then + 128 and saturate.
  EXPECT_EQ(Values<uint8_t>((*out)[0]), (std::vector<uint8_t>{128, 128, 255, 130}));
}

TEST(QuantizeLinearTest, PerAxisWithNegativeAxis) {
  Tensor x = Tensor::FromVector(DType::kFloat32, {2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6});
  auto out = OneNodeModel("QuantizeLinear", 13)
                 .Input("x", x)
                 .Input("s", Tensor::FromVector(DType::kFloat32, {3}, std::vector<float>{1, 2, 4}))
                 .Input("z", Tensor::FromVector(DType::kInt8, {3}, std::vector<int8_t>{0, 10, -10}))
                 .Output("y", 2, DType::kInt8)
                 .Int("axis", -1)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Values<int8_t>((*out)[0]), (std::vector<int8_t>{1, 11, -9, 4, 12, -8}));
}

TEST(QuantizeLinearTest, ScaleOfWrongLengthFails) {
  Tensor x = Tensor::FromVector(DType::kFloat32, {2, 3}, std::vector<float>(6));
  auto out = OneNodeModel("QuantizeLinear", 13)
                 .Input("x", x)
                 .Input("s", Tensor::FromVector(DType::kFloat32, {2}, std::vector<float>{1, 1}))
                 .Output("y", 2, DType::kUInt8)
                 .Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("[2]"), std::string::npos) << out.status().message();
}

TEST(DequantizeLinearTest, Int32AndPerAxis) {
  auto i32 = OneNodeModel("DequantizeLinear", 13)
                 .Input("x", Tensor::FromVector(DType::kInt32, {3}, std::vector<int32_t>{-2147483647 - 1, 0, 10}))
                 .Input("s", Tensor::FromVector(DType::kFloat32, {}, std::vector<float>{0.5f}))
                 .Output("y", 1)
                 .Run();
  ASSERT_TRUE(i32.ok()) << i32.status().message();
  EXPECT_EQ(Values<float>((*i32)[0]), (std::vector<float>{-1073741824.0f, 0, 5}));
  auto axis = OneNodeModel("DequantizeLinear", 13)
                  .Input("x", Tensor::FromVector(DType::kUInt8, {2, 2}, std::vector<uint8_t>{0, 255, 10, 20}))
                  .Input("s", Tensor::FromVector(DType::kFloat32, {2}, std::vector<float>{2, 0.5f}))
                  .Input("z", Tensor::FromVector(DType::kUInt8, {2}, std::vector<uint8_t>{5, 15}))
                  .Output("y", 2)
                  .Int("axis", 0)
                  .Run();
  ASSERT_TRUE(axis.ok()) << axis.status().message();
  EXPECT_EQ(Values<float>((*axis)[0]), (std::vector<float>{-10, 500, -2.5f, 2.5f}));
}

TEST(DequantizeLinearTest, ScalarZeroPointWithPerAxisScales) {
  auto out = OneNodeModel("DequantizeLinear", 13)
                 .Input("x", Tensor::FromVector(DType::kInt8, {1, 3}, std::vector<int8_t>{1, 2, 3}))
                 .Input("s", Tensor::FromVector(DType::kFloat32, {3}, std::vector<float>{1, 2, 3}))
                 .Input("z", Tensor::FromVector(DType::kInt8, {}, std::vector<int8_t>{1}))
                 .Output("y", 2)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Values<float>((*out)[0]), (std::vector<float>{0, 2, 6}));
}

TEST(DynamicQuantizeLinearTest, ScaleAndZeroPointCoverZero) {
  Tensor x = Tensor::FromVector(DType::kFloat32, {4}, std::vector<float>{1, 2, 3, 4});
  auto out = OneNodeModel("DynamicQuantizeLinear", 11)
                 .Input("x", x)
                 .Output("y", 1, DType::kUInt8)
                 .Output("s", 0)
                 .Output("z", 0, DType::kUInt8)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  // The range is widened to include 0: [0, 4], so scale = 4/255 and zero point 0.
  EXPECT_FLOAT_EQ((*out)[1].data<float>()[0], 4.0f / 255.0f);
  EXPECT_EQ((*out)[2].data<uint8_t>()[0], 0);
  // 2 / float32(4/255) is 127.49999 in float32 (as in numpy), so it rounds down.
  EXPECT_EQ(Values<uint8_t>((*out)[0]), (std::vector<uint8_t>{64, 127, 191, 255}));
  Tensor zeros = Tensor::FromVector(DType::kFloat32, {3}, std::vector<float>{0, 0, 0});
  auto z = OneNodeModel("DynamicQuantizeLinear", 11)
               .Input("x", zeros)
               .Output("y", 1, DType::kUInt8)
               .Output("s", 0)
               .Output("z", 0, DType::kUInt8)
               .Run();
  ASSERT_TRUE(z.ok()) << z.status().message();
  EXPECT_EQ(Values<uint8_t>((*z)[0]), (std::vector<uint8_t>{0, 0, 0}));
}

TEST(MatMulIntegerTest, PerRowAndPerColumnZeroPoints) {
  // A [2,3] uint8 with a zero point per row, B [3,2] int8 with one per column.
  auto out = OneNodeModel("MatMulInteger", 10)
                 .Input("a", Tensor::FromVector(DType::kUInt8, {2, 3}, std::vector<uint8_t>{1, 2, 3, 250, 251, 252}))
                 .Input("b", Tensor::FromVector(DType::kInt8, {3, 2}, std::vector<int8_t>{-128, 127, 0, 1, 5, -5}))
                 .Input("az", Tensor::FromVector(DType::kUInt8, {2}, std::vector<uint8_t>{1, 250}))
                 .Input("bz", Tensor::FromVector(DType::kInt8, {2}, std::vector<int8_t>{0, -1}))
                 .Output("y", 2, DType::kInt32)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  // A - az = [[0,1,2],[0,1,2]]; B - bz = [[-128,128],[0,2],[5,-4]].
  EXPECT_EQ(Values<int32_t>((*out)[0]), (std::vector<int32_t>{10, -6, 10, -6}));
}

TEST(MatMulIntegerTest, BatchedWithoutZeroPoints) {
  auto out = OneNodeModel("MatMulInteger", 10)
                 .Input("a", Tensor::FromVector(DType::kInt8, {2, 1, 2}, std::vector<int8_t>{1, 2, -3, 4}))
                 .Input("b", Tensor::FromVector(DType::kInt8, {2, 1}, std::vector<int8_t>{5, 6}))
                 .Output("y", 3, DType::kInt32)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), Shape({2, 1, 1}));
  EXPECT_EQ(Values<int32_t>((*out)[0]), (std::vector<int32_t>{17, 9}));
}

// Random shapes, dtypes and zero points (scalar, per row/column) against brute force. A 2-D B takes the
// oneDNN path where it is exact (VNNI), a batched B the plain int32 GEMM; extreme values and K = 300 would
// expose any saturating int16 intermediate.
// Runs `body` with the oneDNN int8 path allowed (used where the CPU makes it exact) and turned off.
template <typename F>
void WithAndWithoutDnnlInt8(F&& body) {
  for (bool dnnl : {true, false}) {
    SCOPED_TRACE(dnnl ? "oneDNN int8 allowed" : "plain int32 GEMM");
    if (dnnl)
      unsetenv("TESSERA_DNNL_INT8");
    else
      setenv("TESSERA_DNNL_INT8", "0", 1);
    body();
    unsetenv("TESSERA_DNNL_INT8");
  }
}

void RandomMatMulIntegerTrials();

TEST(MatMulIntegerTest, RandomShapesDTypesAndZeroPointsMatchBruteForce) {
  WithAndWithoutDnnlInt8([] { RandomMatMulIntegerTrials(); });
}

void RandomMatMulIntegerTrials() {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  auto fill = [&](DType dtype, const Shape& shape, bool extreme) {
    Tensor t = Tensor::FromVector(dtype, shape, std::vector<uint8_t>(size_t(ShapeElementCount(shape))));
    for (int64_t i = 0; i < t.element_count(); ++i) {
      const uint32_t r = rng();
      t.data<uint8_t>()[i] = extreme ? (dtype == DType::kUInt8 ? 255 : (r % 2 ? 0x80 : 0x7f)) : uint8_t(r);
    }
    return t;
  };
  auto value = [](const Tensor& t, int64_t i) {
    return t.dtype() == DType::kUInt8 ? int64_t{t.data<uint8_t>()[i]} : int64_t{t.data<int8_t>()[i]};
  };
  for (int trial = 0; trial < 24; ++trial) {
    const DType at = rng() % 2 ? DType::kUInt8 : DType::kInt8, bt = rng() % 2 ? DType::kUInt8 : DType::kInt8;
    const bool extreme = trial % 4 == 3;
    const int64_t batch = 1 + rng() % 3, m = 1 + rng() % 9, k = extreme ? 300 : 1 + rng() % 70, n = 1 + rng() % 40;
    const bool b_batched = trial % 3 == 2;
    const Shape as{batch, m, k}, bs = b_batched ? Shape{batch, k, n} : Shape{k, n};
    const Tensor a = fill(at, as, extreme), b = fill(bt, bs, extreme);
    const int zp_kind = trial % 3;  // 0: none, 1: scalar, 2: per row of A / per column of B
    const Tensor az = fill(at, zp_kind == 2 ? Shape{m} : Shape{}, false),
                 bz = fill(bt, zp_kind == 2 ? Shape{n} : Shape{}, false);
    OneNodeModel model("MatMulInteger", 10);
    // Every other trial's B is an initializer: the kernel then prepares it once (QuantGemm::SetConstantB).
    model.Input("a", a).Input("b", b, /*constant=*/trial % 2 == 0);
    if (zp_kind > 0) model.Input("az", az).Input("bz", bz);
    auto out = model.Output("y", 3, DType::kInt32).Run();
    ASSERT_TRUE(out.ok()) << out.status().message();
    ASSERT_EQ((*out)[0].shape(), Shape({batch, m, n}));
    for (int64_t p = 0; p < batch; ++p)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          int64_t sum = 0;
          const int64_t azv = zp_kind == 0 ? 0 : value(az, zp_kind == 2 ? i : 0);
          const int64_t bzv = zp_kind == 0 ? 0 : value(bz, zp_kind == 2 ? j : 0);
          for (int64_t x = 0; x < k; ++x) {
            sum += (value(a, (p * m + i) * k + x) - azv) * (value(b, ((b_batched ? p : 0) * k + x) * n + j) - bzv);
          }
          ASSERT_EQ((*out)[0].data<int32_t>()[(p * m + i) * n + j], sum)
              << "trial " << trial << " A " << DTypeName(at) << " B " << DTypeName(bt) << " k " << k;
        }
  }
}

TEST(MatMulIntegerTest, ZeroPointOfWrongLengthFails) {
  auto out = OneNodeModel("MatMulInteger", 10)
                 .Input("a", Tensor::FromVector(DType::kUInt8, {2, 3}, std::vector<uint8_t>(6)))
                 .Input("b", Tensor::FromVector(DType::kUInt8, {3, 2}, std::vector<uint8_t>(6)))
                 .Input("az", Tensor::FromVector(DType::kUInt8, {3}, std::vector<uint8_t>(3)))
                 .Output("y", 2, DType::kInt32)
                 .Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("[3]"), std::string::npos) << out.status().message();
}

TEST(QLinearMatMulTest, RequantizesWithRoundingAndSaturation) {
  auto f = [](DType t, Shape s, auto v) { return Tensor::FromVector(t, s, v); };
  auto out = OneNodeModel("QLinearMatMul", 10)
                 .Input("a", f(DType::kUInt8, {1, 2}, std::vector<uint8_t>{12, 14}))
                 .Input("as", f(DType::kFloat32, {}, std::vector<float>{0.5f}))
                 .Input("az", f(DType::kUInt8, {}, std::vector<uint8_t>{10}))
                 .Input("b", f(DType::kUInt8, {2, 3}, std::vector<uint8_t>{1, 200, 3, 1, 200, 4}))
                 .Input("bs", f(DType::kFloat32, {}, std::vector<float>{1.0f}))
                 .Input("bz", f(DType::kUInt8, {}, std::vector<uint8_t>{0}))
                 .Input("ys", f(DType::kFloat32, {}, std::vector<float>{2.0f}))
                 .Input("yz", f(DType::kInt8, {}, std::vector<int8_t>{1}))
                 .Output("y", 2, DType::kInt8)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  // (a - 10) = [2, 4]; products [6, 1200, 22]; * 0.5 / 2 = [1.5, 300, 5.5] -> rint [2, 300, 6] + 1, saturated.
  EXPECT_EQ(Values<int8_t>((*out)[0]), (std::vector<int8_t>{3, 127, 7}));
}

// Direct grouped convolution (2-D) in int64 for the integer conv tests.
std::vector<int64_t> DirectConv(const std::vector<int32_t>& x, const Shape& xs, const std::vector<int32_t>& w,
                                const Shape& ws, int64_t group, const Shape& strides, const Shape& pads,
                                const Shape& dil, Shape* out_shape) {
  const int64_t n = xs[0], c = xs[1], h = xs[2], wd = xs[3], m = ws[0], cg = ws[1], kh = ws[2], kw = ws[3];
  const int64_t oh = (h + pads[0] + pads[2] - dil[0] * (kh - 1) - 1) / strides[0] + 1;
  const int64_t ow = (wd + pads[1] + pads[3] - dil[1] * (kw - 1) - 1) / strides[1] + 1;
  *out_shape = {n, m, oh, ow};
  std::vector<int64_t> y(static_cast<size_t>(n * m * oh * ow), 0);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t o = 0; o < m; ++o)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          int64_t s = 0;
          const int64_t g = o / (m / group);
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t p = 0; p < kh; ++p)
              for (int64_t q = 0; q < kw; ++q) {
                const int64_t yi = i * strides[0] - pads[0] + p * dil[0], xi = j * strides[1] - pads[1] + q * dil[1];
                if (yi < 0 || yi >= h || xi < 0 || xi >= wd) continue;
                s += int64_t{x[size_t(((b * c + g * cg + ci) * h + yi) * wd + xi)]} *
                     w[size_t(((o * cg + ci) * kh + p) * kw + q)];
              }
          y[size_t(((b * m + o) * oh + i) * ow + j)] = s;
        }
  return y;
}

// uint8 or int8 x against int8 weights with a scalar or per-output-channel weight zero point.
void ConvIntegerTrials() {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  struct Case {
    Shape xs, ws;
    int64_t group;
    Shape strides, pads, dil;
    bool signed_x, per_channel_wz;
  };
  const std::vector<Case> cases = {{{1, 2, 5, 5}, {3, 2, 3, 3}, 1, {1, 1}, {1, 1, 1, 1}, {1, 1}, false, false},
                                   {{2, 4, 7, 6}, {4, 2, 2, 3}, 2, {2, 1}, {0, 1, 2, 0}, {1, 2}, true, true},
                                   {{1, 3, 6, 6}, {3, 1, 3, 3}, 3, {2, 2}, {1, 1, 1, 1}, {2, 2}, false, true},
                                   {{1, 16, 9, 9}, {8, 16, 3, 3}, 1, {1, 1}, {1, 1, 1, 1}, {1, 1}, true, false}};
  for (const Case& cs : cases) {
    std::vector<uint8_t> x(size_t(ShapeElementCount(cs.xs)));
    std::vector<int8_t> w(size_t(ShapeElementCount(cs.ws)));
    for (auto& v : x) v = uint8_t(rng() % 256);
    for (auto& v : w) v = int8_t(int(rng() % 256) - 128);
    const int32_t xz = cs.signed_x ? -7 : 100;
    std::vector<int8_t> wz(cs.per_channel_wz ? size_t(cs.ws[0]) : 1);
    for (auto& v : wz) v = int8_t(int(rng() % 11) - 5);
    std::vector<int32_t> x32(x.size()), w32(w.size());
    for (size_t i = 0; i < x.size(); ++i) x32[i] = (cs.signed_x ? int32_t(int8_t(x[i])) : int32_t(x[i])) - xz;
    const size_t per_map = w.size() / size_t(cs.ws[0]);
    for (size_t i = 0; i < w.size(); ++i) w32[i] = w[i] - wz[wz.size() == 1 ? 0 : i / per_map];
    Shape want_shape;
    const auto want = DirectConv(x32, cs.xs, w32, cs.ws, cs.group, cs.strides, cs.pads, cs.dil, &want_shape);
    const DType xt = cs.signed_x ? DType::kInt8 : DType::kUInt8;
    auto out = OneNodeModel("ConvInteger", 10)
                   .Input("x", Tensor::FromVector(xt, cs.xs, x))
                   .Input("w", Tensor::FromVector(DType::kInt8, cs.ws, w))
                   .Input("xz", Tensor::FromVector(xt, {}, std::vector<uint8_t>{uint8_t(xz)}))
                   .Input("wz", Tensor::FromVector(DType::kInt8, cs.per_channel_wz ? Shape{cs.ws[0]} : Shape{}, wz))
                   .Output("y", 4, DType::kInt32)
                   .Int("group", cs.group)
                   .Ints("strides", cs.strides)
                   .Ints("pads", cs.pads)
                   .Ints("dilations", cs.dil)
                   .Run();
    ASSERT_TRUE(out.ok()) << out.status().message();
    ASSERT_EQ((*out)[0].shape(), want_shape);
    for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ((*out)[0].data<int32_t>()[i], want[i]) << i;
  }
}

TEST(ConvIntegerTest, GroupsStridesPadsDilationsMatchDirectConvolution) { WithAndWithoutDnnlInt8(ConvIntegerTrials); }

TEST(ConvIntegerTest, SameUpperPaddingKeepsSpatialSize) {
  std::vector<uint8_t> x(9, 1);
  auto out = OneNodeModel("ConvInteger", 10)
                 .Input("x", Tensor::FromVector(DType::kUInt8, {1, 1, 3, 3}, x))
                 .Input("w", Tensor::FromVector(DType::kUInt8, {1, 1, 2, 2}, std::vector<uint8_t>{1, 1, 1, 1}))
                 .Output("y", 4, DType::kInt32)
                 .String("auto_pad", "SAME_UPPER")
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ((*out)[0].shape(), Shape({1, 1, 3, 3}));
  // SAME_UPPER puts the extra pad at the end: the last row and column see fewer inputs.
  EXPECT_EQ(Values<int32_t>((*out)[0]), (std::vector<int32_t>{4, 4, 2, 4, 4, 2, 2, 2, 1}));
}

TEST(QLinearConvTest, BiasAndPerChannelWeightScales) {
  // 1x1 conv, two output channels: y[m] = rint((x - 2) * w[m] + B[m]) * 1 * w_scale[m] / 0.5) + 3.
  auto out = OneNodeModel("QLinearConv", 10)
                 .Input("x", Tensor::FromVector(DType::kUInt8, {1, 1, 1, 2}, std::vector<uint8_t>{4, 6}))
                 .Input("xs", Tensor::FromVector(DType::kFloat32, {}, std::vector<float>{1.0f}))
                 .Input("xz", Tensor::FromVector(DType::kUInt8, {}, std::vector<uint8_t>{2}))
                 .Input("w", Tensor::FromVector(DType::kInt8, {2, 1, 1, 1}, std::vector<int8_t>{3, -1}))
                 .Input("ws", Tensor::FromVector(DType::kFloat32, {2}, std::vector<float>{0.25f, 1.0f}))
                 .Input("wz", Tensor::FromVector(DType::kInt8, {2}, std::vector<int8_t>{0, 0}))
                 .Input("ys", Tensor::FromVector(DType::kFloat32, {}, std::vector<float>{0.5f}))
                 .Input("yz", Tensor::FromVector(DType::kUInt8, {}, std::vector<uint8_t>{3}))
                 .Input("b", Tensor::FromVector(DType::kInt32, {2}, std::vector<int32_t>{1, -1}))
                 .Output("y", 4, DType::kUInt8)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  // m=0: (2*3+1, 4*3+1) * 0.5 = (3.5, 6.5) -> (4, 6) + 3; m=1: (-3, -5) * 2 = (-6, -10) + 3 -> saturate 0.
  EXPECT_EQ(Values<uint8_t>((*out)[0]), (std::vector<uint8_t>{7, 9, 0, 0}));
}

TEST(ConvIntegerTest, HugePadsFailCleanly) {
  auto out = OneNodeModel("ConvInteger", 10)
                 .Input("x", Tensor::FromVector(DType::kUInt8, {1, 1, 2, 2}, std::vector<uint8_t>(4)))
                 .Input("w", Tensor::FromVector(DType::kUInt8, {1, 1, 1, 1}, std::vector<uint8_t>(1)))
                 .Output("y", 4, DType::kInt32)
                 .Ints("pads", {1000000000, 1000000000, 1000000000, 1000000000})
                 .Run();
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kResourceExhausted) << out.status().message();
}

TEST(QLinearConvTest, WrongGroupFails) {
  auto out = OneNodeModel("ConvInteger", 10)
                 .Input("x", Tensor::FromVector(DType::kUInt8, {1, 3, 2, 2}, std::vector<uint8_t>(12)))
                 .Input("w", Tensor::FromVector(DType::kUInt8, {2, 3, 1, 1}, std::vector<uint8_t>(6)))
                 .Output("y", 4, DType::kInt32)
                 .Int("group", 2)
                 .Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("[2,3,1,1]"), std::string::npos) << out.status().message();
}

}  // namespace
}  // namespace tessera

namespace tessera {
namespace {

// QuantizeLinear's vectorizable float path against the scalar definition: halfway points, saturation,
// infinities and NaN, for both 8-bit types and several zero points.
TEST(QuantizeFloatsTest, MatchesQuantizeValue) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> half(-700, 700);
  std::vector<float> x{std::nanf(""), INFINITY, -INFINITY, 1e30f, -1e30f, 0.0f, -0.0f};
  for (int i = 0; i < 2000; ++i) x.push_back(static_cast<float>(half(rng)) * 0.25f);
  for (float scale : {1.0f, 0.5f, 0.0371f}) {
    for (int zp : {0, 3, 128, 255}) {
      std::vector<uint8_t> u(x.size());
      QuantizeFloats<uint8_t>(x.data(), static_cast<int64_t>(x.size()), scale, zp, u.data());
      for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(u[i], QuantizeValue<uint8_t>(x[i] / scale, zp)) << x[i];
    }
    for (int zp : {-128, -5, 0, 127}) {
      std::vector<int8_t> s(x.size());
      QuantizeFloats<int8_t>(x.data(), static_cast<int64_t>(x.size()), scale, zp, s.data());
      for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(s[i], QuantizeValue<int8_t>(x[i] / scale, zp)) << x[i];
    }
  }
}

}  // namespace
}  // namespace tessera
