// MatMul and Gemm through one-node models against a double-precision reference: numpy batch broadcasting,
// 1-D operands, empty inner dims, the non-float32 reference path, pre-packed constant weights, Gemm's
// transposes/alpha/beta/C broadcasting, and inputs that must fail with a message naming the shapes.
#include <gtest/gtest.h>

#include <random>

#include "core/half.h"
#include "testing/one_node_model.h"
#include "tessera/session.h"
#include "testing/onnx_builder.h"

namespace tessera {
namespace {

using testing::OneNodeModel;

std::vector<float> RandomValues(std::mt19937& rng, int64_t count) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(count));
  for (float& x : v) x = dist(rng);
  return v;
}

// numpy.matmul in double for operands of rank >= 2 (batch dims broadcast).
std::vector<double> ReferenceMatMul(const std::vector<float>& a, const Shape& as, const std::vector<float>& b,
                                    const Shape& bs, Shape* out_shape) {
  const size_t rank = std::max(as.size(), bs.size());
  Shape ap(rank - as.size(), 1), bp(rank - bs.size(), 1);
  ap.insert(ap.end(), as.begin(), as.end());
  bp.insert(bp.end(), bs.begin(), bs.end());
  const int64_t m = ap[rank - 2], k = ap[rank - 1], n = bp[rank - 1];
  Shape batch;
  for (size_t d = 0; d + 2 < rank; ++d) batch.push_back(std::max(ap[d], bp[d]));
  *out_shape = batch;
  out_shape->push_back(m);
  out_shape->push_back(n);
  const int64_t count = ShapeElementCount(batch);
  std::vector<double> c(static_cast<size_t>(count * m * n));
  for (int64_t bi = 0; bi < count; ++bi) {
    int64_t rem = bi, a_off = 0, b_off = 0, a_mul = 1, b_mul = 1;
    for (size_t d = batch.size(); d-- > 0;) {
      const int64_t idx = rem % batch[d];
      rem /= batch[d];
      a_off += (ap[d] == 1 ? 0 : idx) * a_mul;
      b_off += (bp[d] == 1 ? 0 : idx) * b_mul;
      a_mul *= ap[d];
      b_mul *= bp[d];
    }
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t x = 0; x < k; ++x) s += double(a[a_off * m * k + i * k + x]) * b[b_off * k * n + x * n + j];
        c[static_cast<size_t>((bi * m + i) * n + j)] = s;
      }
    }
  }
  return c;
}

StatusOr<std::vector<Tensor>> RunMatMul(const Tensor& a, const Tensor& b, int out_rank) {
  return OneNodeModel("MatMul", 13).Input("a", a).Input("b", b).Output("y", out_rank, a.dtype()).Run();
}

TEST(MatMulTest, BroadcastBatchDimsMatchReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{2, 1, 3, 4}, {3, 4, 5}},    {{3, 4}, {2, 4, 5}},       {{2, 3, 4}, {4, 5}},  {{1, 3, 4}, {2, 4, 5}},
      {{2, 1, 3, 7}, {1, 3, 7, 2}}, {{4, 5, 33}, {4, 33, 17}}, {{65, 70}, {70, 129}}};
  for (const auto& [as, bs] : cases) {
    const auto a = RandomValues(rng, ShapeElementCount(as)), b = RandomValues(rng, ShapeElementCount(bs));
    Shape want_shape;
    const auto want = ReferenceMatMul(a, as, b, bs, &want_shape);
    auto out = RunMatMul(Tensor::FromVector(DType::kFloat32, as, a), Tensor::FromVector(DType::kFloat32, bs, b),
                         static_cast<int>(want_shape.size()));
    ASSERT_TRUE(out.ok()) << out.status().message();
    ASSERT_EQ((*out)[0].shape(), want_shape) << ShapeToString(as) << " x " << ShapeToString(bs);
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_NEAR((*out)[0].data<float>()[i], want[i], 1e-4) << ShapeToString(as) << " x " << ShapeToString(bs);
    }
  }
}

TEST(MatMulTest, VectorOperandsDropTheirDim) {
  Tensor v = Tensor::FromVector(DType::kFloat32, {3}, std::vector<float>{1, 2, 3});
  Tensor m = Tensor::FromVector(DType::kFloat32, {3, 2}, std::vector<float>{1, 2, 3, 4, 5, 6});
  auto vm = RunMatMul(v, m, 1);
  ASSERT_TRUE(vm.ok()) << vm.status().message();
  EXPECT_EQ((*vm)[0].shape(), Shape({2}));
  EXPECT_FLOAT_EQ((*vm)[0].data<float>()[0], 22);
  EXPECT_FLOAT_EQ((*vm)[0].data<float>()[1], 28);
  Tensor mt = Tensor::FromVector(DType::kFloat32, {2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6});
  auto mv = RunMatMul(mt, v, 1);
  ASSERT_TRUE(mv.ok()) << mv.status().message();
  EXPECT_EQ((*mv)[0].shape(), Shape({2}));
  EXPECT_FLOAT_EQ((*mv)[0].data<float>()[1], 32);
  auto dot = RunMatMul(v, v, 0);
  ASSERT_TRUE(dot.ok()) << dot.status().message();
  EXPECT_EQ((*dot)[0].shape(), Shape({}));
  EXPECT_FLOAT_EQ((*dot)[0].data<float>()[0], 14);
}

TEST(MatMulTest, EmptyInnerDimGivesZeros) {
  auto out = RunMatMul(Tensor::FromVector(DType::kFloat32, {2, 3, 0}, std::vector<float>{}),
                       Tensor::FromVector(DType::kFloat32, {0, 4}, std::vector<float>{}), 3);
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ((*out)[0].shape(), Shape({2, 3, 4}));
  for (int i = 0; i < 24; ++i) EXPECT_EQ((*out)[0].data<float>()[i], 0.0f);
}

TEST(MatMulTest, EmptyBatchGivesEmptyOutput) {
  auto out = RunMatMul(Tensor::FromVector(DType::kFloat32, {0, 3, 2}, std::vector<float>{}),
                       Tensor::FromVector(DType::kFloat32, {2, 4}, std::vector<float>{}), 3);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), Shape({0, 3, 4}));
}

TEST(MatMulTest, MismatchedInnerDimsNameBothShapes) {
  auto out = RunMatMul(Tensor::FromVector(DType::kFloat32, {2, 3}, std::vector<float>(6)),
                       Tensor::FromVector(DType::kFloat32, {4, 5}, std::vector<float>(20)), 2);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("[2,3]"), std::string::npos) << out.status().message();
  EXPECT_NE(out.status().message().find("[4,5]"), std::string::npos) << out.status().message();
}

TEST(MatMulTest, UnbroadcastableBatchDimsFail) {
  auto out = RunMatMul(Tensor::FromVector(DType::kFloat32, {2, 2, 3}, std::vector<float>(12)),
                       Tensor::FromVector(DType::kFloat32, {3, 3, 2}, std::vector<float>(18)), 3);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("[3,3,2]"), std::string::npos) << out.status().message();
}

// A [1e6,1,1,1] x B [1,1e6,1,1] broadcasts to 1e12 outputs: a ResourceExhausted, not bad_alloc or OOM.
TEST(MatMulTest, HugeBroadcastOutputFailsCleanly) {
  auto out = RunMatMul(Tensor::FromVector(DType::kFloat32, {1000000, 1, 1, 1}, std::vector<float>{}),
                       Tensor::FromVector(DType::kFloat32, {1, 1000000, 1, 1}, std::vector<float>{}), 4);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kResourceExhausted) << out.status().message();
}

TEST(MatMulTest, ReferencePathForOtherDTypes) {
  const std::vector<int64_t> a{1, -2, 3, 4, 5, -6}, b{7, 8, 9, 10, -11, 12};
  const std::vector<int64_t> want{-44, 24, 139, 10};  // [2,3] x [3,2]
  auto check = [&](DType dtype, auto tag) {
    using T = decltype(tag);
    std::vector<T> at(a.begin(), a.end()), bt(b.begin(), b.end());
    auto out = RunMatMul(Tensor::FromVector(dtype, {2, 3}, at), Tensor::FromVector(dtype, {3, 2}, bt), 2);
    ASSERT_TRUE(out.ok()) << DTypeName(dtype) << ": " << out.status().message();
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ((*out)[0].template data<T>()[i], T(want[i])) << DTypeName(dtype);
  };
  check(DType::kFloat64, double{});
  check(DType::kInt32, int32_t{});
  check(DType::kInt64, int64_t{});
  check(DType::kUInt64, uint64_t{0});  // negative products wrap modulo 2^64, like numpy
}

TEST(MatMulTest, Float16WidensAndRoundsOnce) {
  std::vector<uint16_t> a, b;
  for (float v : {1.0f, 0.5f, -2.0f, 3.0f, 0.25f, 1.5f}) a.push_back(FloatToHalf(v));
  for (float v : {2.0f, -1.0f, 0.5f, 4.0f, 1.0f, 1.0f}) b.push_back(FloatToHalf(v));
  auto out =
      RunMatMul(Tensor::FromVector(DType::kFloat16, {2, 3}, a), Tensor::FromVector(DType::kFloat16, {3, 2}, b), 2);
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ((*out)[0].dtype(), DType::kFloat16);
  const std::vector<float> want{0.25f, -1.0f, 7.625f, -0.5f};  // [[1,.5,-2],[3,.25,1.5]] x [[2,-1],[.5,4],[1,1]]
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(HalfToFloat((*out)[0].data<uint16_t>()[i]), want[i]) << i;
}

TEST(MatMulTest, MixedDTypesFail) {
  auto out = RunMatMul(Tensor::FromVector(DType::kFloat32, {1, 1}, std::vector<float>{1}),
                       Tensor::FromVector(DType::kFloat64, {1, 1}, std::vector<double>{1}), 2);
  EXPECT_FALSE(out.ok());
}

TEST(MatMulTest, ConstantWeightsArePrePackedAndReusedAcrossShapes) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const auto w = RandomValues(rng, 48 * 40);
  testing::OnnxBuilder builder(13);
  builder.Input("a", DType::kFloat32, {-1, -1, 48});
  builder.Initializer("w", w, {48, 40});
  builder.Node("MatMul", {"a", "w"}, {"y"});
  builder.Output("y", DType::kFloat32, {-1, -1, 40});
  auto session = Session::Load(builder.WriteTemp());
  ASSERT_TRUE(session.ok()) << session.status().message();
  for (const Shape& as : {Shape{2, 3, 48}, Shape{1, 17, 48}, Shape{2, 3, 48}}) {
    const auto a = RandomValues(rng, ShapeElementCount(as));
    auto out = (*session)->Run({{"a", Tensor::FromVector(DType::kFloat32, as, a)}});
    ASSERT_TRUE(out.ok()) << out.status().message();
    Shape want_shape;
    const auto want = ReferenceMatMul(a, as, w, {48, 40}, &want_shape);
    ASSERT_EQ((*out)[0].shape(), want_shape);
    for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR((*out)[0].data<float>()[i], want[i], 1e-4) << i;
  }
}

// After a prefill-sized run has packed the constant B, one to four rows (decode) take PanelGemv over the
// packed copy and five fall back to oneDNN: all must match, with K and N off the 16- and 64-wide blocks.
TEST(MatMulTest, DecodeRowsAfterPackingMatchReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const int64_t k = 75, n = 131;
  const auto w = RandomValues(rng, k * n);
  testing::OnnxBuilder builder(13);
  builder.Input("a", DType::kFloat32, {-1, -1, k});
  builder.Initializer("w", w, {k, n});
  builder.Node("MatMul", {"a", "w"}, {"y"});
  builder.Output("y", DType::kFloat32, {-1, -1, n});
  auto session = Session::Load(builder.WriteTemp());
  ASSERT_TRUE(session.ok()) << session.status().message();
  for (const Shape& as : {Shape{1, 9, k}, Shape{1, 1, k}, Shape{1, 2, k}, Shape{3, 1, k}, Shape{1, 4, k},
                          Shape{1, 5, k}, Shape{1, 1, k}}) {
    SCOPED_TRACE(ShapeToString(as));
    const auto a = RandomValues(rng, ShapeElementCount(as));
    auto out = (*session)->Run({{"a", Tensor::FromVector(DType::kFloat32, as, a)}});
    ASSERT_TRUE(out.ok()) << out.status().message();
    Shape want_shape;
    const auto want = ReferenceMatMul(a, as, w, {k, n}, &want_shape);
    ASSERT_EQ((*out)[0].shape(), want_shape);
    for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR((*out)[0].data<float>()[i], want[i], 1e-4) << i;
  }
}

// Gemm: Y = alpha * op(A) op(B) + beta * C.
template <typename T>
void CheckGemm(DType dtype, bool trans_a, bool trans_b, const Shape& c_shape, int opset, unsigned seed) {
  std::mt19937 rng(seed);
  const int64_t m = 5, k = 7, n = 3;
  const float alpha = 0.5f, beta = 2.0f;
  // An empty c_shape means "no C" (optional from opset 11).
  const auto a = RandomValues(rng, m * k), b = RandomValues(rng, k * n);
  const auto c = c_shape.empty() ? std::vector<float>{} : RandomValues(rng, ShapeElementCount(c_shape));
  const Shape as = trans_a ? Shape{k, m} : Shape{m, k}, bs = trans_b ? Shape{n, k} : Shape{k, n};
  OneNodeModel model("Gemm", opset);
  model.Input("a", Tensor::FromVector(dtype, as, std::vector<T>(a.begin(), a.end())))
      .Input("b", Tensor::FromVector(dtype, bs, std::vector<T>(b.begin(), b.end())));
  if (!c_shape.empty()) model.Input("c", Tensor::FromVector(dtype, c_shape, std::vector<T>(c.begin(), c.end())));
  model.Output("y", 2, dtype).Int("transA", trans_a).Int("transB", trans_b).Float("alpha", alpha).Float("beta", beta);
  if (opset < 7) model.Int("broadcast", 1);
  auto out = model.Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  const auto cs = c_shape.empty() ? std::vector<int64_t>{} : c_shape;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t x = 0; x < k; ++x) {
        s += double(a[trans_a ? x * m + i : i * k + x]) * b[trans_b ? j * k + x : x * n + j];
      }
      double bias = 0;
      if (!c.empty()) {
        const int64_t ci = cs.size() == 2 ? (cs[0] == 1 ? 0 : i) * cs[1] + (cs[1] == 1 ? 0 : j)
                                          : (cs.size() == 1 && cs[0] != 1 ? j : 0);
        bias = c[static_cast<size_t>(ci)];
      }
      ASSERT_NEAR(double((*out)[0].data<T>()[i * n + j]), alpha * s + beta * bias, 1e-5)
          << DTypeName(dtype) << " transA " << trans_a << " transB " << trans_b << " C " << ShapeToString(c_shape);
    }
  }
}

TEST(GemmTest, TransposesScalesAndBiasBroadcastMatchReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (const Shape& c : {Shape{5, 3}, Shape{3}, Shape{1}, Shape{5, 1}, Shape{1, 3}, Shape{}}) {
    for (int t = 0; t < 4; ++t) {
      CheckGemm<float>(DType::kFloat32, t & 1, t & 2, c, 13, seed + t);
      CheckGemm<double>(DType::kFloat64, t & 1, t & 2, c, 13, seed + t);
    }
  }
}

TEST(GemmTest, OldOpsetsWithBroadcastAttribute) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  CheckGemm<float>(DType::kFloat32, false, true, {3}, 6, seed);
  CheckGemm<float>(DType::kFloat32, true, false, {5, 3}, 1, seed);
  CheckGemm<float>(DType::kFloat32, false, false, {1, 3}, 9, seed);
}

// The PyTorch Linear export: Gemm(x, W, b) with transB = 1 and W, b initializers.
TEST(GemmTest, ConstantTransposedWeightsArePrePacked) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const int64_t k = 37, n = 19;
  const auto w = RandomValues(rng, n * k), bias = RandomValues(rng, n);
  testing::OnnxBuilder builder(13);
  builder.Input("x", DType::kFloat32, {-1, k});
  builder.Initializer("w", w, {n, k});
  builder.Initializer("bias", bias, {n});
  auto& node = builder.Node("Gemm", {"x", "w", "bias"}, {"y"});
  testing::OnnxBuilder::IntAttribute(node, "transB", 1);
  testing::OnnxBuilder::FloatAttribute(node, "alpha", 0.5f);
  builder.Output("y", DType::kFloat32, {-1, n});
  auto session = Session::Load(builder.WriteTemp());
  ASSERT_TRUE(session.ok()) << session.status().message();
  for (int64_t m : {1, 8, 3}) {
    const auto x = RandomValues(rng, m * k);
    auto out = (*session)->Run({{"x", Tensor::FromVector(DType::kFloat32, {m, k}, x)}});
    ASSERT_TRUE(out.ok()) << out.status().message();
    ASSERT_EQ((*out)[0].shape(), Shape({m, n}));
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t x_i = 0; x_i < k; ++x_i) s += double(x[size_t(i * k + x_i)]) * w[size_t(j * k + x_i)];
        ASSERT_NEAR((*out)[0].data<float>()[i * n + j], 0.5 * s + bias[size_t(j)], 1e-5) << "m " << m;
      }
    }
  }
}

TEST(GemmTest, MismatchedInnerDimsFail) {
  auto out = OneNodeModel("Gemm", 13)
                 .Input("a", Tensor::FromVector(DType::kFloat32, {2, 3}, std::vector<float>(6)))
                 .Input("b", Tensor::FromVector(DType::kFloat32, {4, 2}, std::vector<float>(8)))
                 .Output("y", 2)
                 .Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("[4,2]"), std::string::npos) << out.status().message();
}

TEST(GemmTest, BiasThatDoesNotBroadcastFails) {
  auto out = OneNodeModel("Gemm", 13)
                 .Input("a", Tensor::FromVector(DType::kFloat32, {2, 3}, std::vector<float>(6)))
                 .Input("b", Tensor::FromVector(DType::kFloat32, {3, 4}, std::vector<float>(12)))
                 .Input("c", Tensor::FromVector(DType::kFloat32, {3}, std::vector<float>(3)))
                 .Output("y", 2)
                 .Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("[3]"), std::string::npos) << out.status().message();
}

}  // namespace
}  // namespace tessera
