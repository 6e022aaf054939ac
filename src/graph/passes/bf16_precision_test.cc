// --precision bf16: which products ConvertProductsToBf16 takes, and the bfloat16 kernels against the same
// model in float32 within bfloat16's rounding (8 bits of mantissa: about 0.4 % per operand, accumulated
// in float32). Inputs are seeded random; the seed is printed on failure.
#include "graph/passes/bf16_precision.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "model/onnx_loader.h"
#include "tessera/session.h"
#include "testing/onnx_builder.h"

namespace tessera {
namespace {

using testing::OnnxBuilder;

std::vector<float> Random(size_t n, std::mt19937& rng, float scale) {
  std::uniform_real_distribution<float> d(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

void ExpectRunsClose(Session& a, Session& b, const Tensor& x) {
  auto got = a.Run({{"x", x}});
  auto want = b.Run({{"x", x}});
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_TRUE(want.ok()) << want.status().message();
  const Tensor& g = (*got)[0];
  const Tensor& w = (*want)[0];
  ASSERT_EQ(g.shape(), w.shape());
  double peak = 0;
  for (int64_t i = 0; i < w.element_count(); ++i) peak = std::max(peak, std::fabs(double{w.data<float>()[i]}));
  for (int64_t i = 0; i < w.element_count(); ++i) {
    ASSERT_NEAR(g.data<float>()[i], w.data<float>()[i], 0.02 * peak) << "at " << i;
  }
}

std::string Ops(const std::string& path, int* converted) {
  auto model = LoadModelFromFile(path);
  EXPECT_TRUE(model.ok()) << model.status().message();
  if (!model.ok()) return "";
  EXPECT_TRUE(ConvertProductsToBf16(*model->graph, converted).ok());
  std::string s;
  for (const Node& n : model->graph->nodes) s += (s.empty() ? "" : " ") + n.op_type;
  return s;
}

// Runs the model in bfloat16 and in float32 on one random x per shape in `x_shapes`, in order, on the same
// two sessions (later shapes may want other weight layouts than the first).
void ExpectCloseToFloat32(const std::string& path, const std::vector<Shape>& x_shapes, std::mt19937& rng) {
  SessionOptions bf16;
  bf16.precision = SessionOptions::Precision::kBFloat16;
  auto a = Session::Load(path, bf16);
  auto b = Session::Load(path);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  for (const Shape& x_shape : x_shapes) {
    SCOPED_TRACE("x " + ShapeToString(x_shape));
    const Tensor x = Tensor::FromVector(DType::kFloat32, x_shape,
                                        Random(static_cast<size_t>(ShapeElementCount(x_shape)), rng, 1.0f));
    ExpectRunsClose(**a, **b, x);
  }
}

void ExpectCloseToFloat32(const std::string& path, const Shape& x_shape, std::mt19937& rng) {
  ExpectCloseToFloat32(path, std::vector<Shape>{x_shape}, rng);
}

// Conv + Relu, then a 1x1 Conv whose sum with the first result (a residual Add) goes into its kernel.
TEST(Bf16PrecisionTest, ConvWithResidualMatchesFloat32) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  OnnxBuilder b(17);
  b.Input("x", DType::kFloat32, {2, 8, 7, 7});
  b.Initializer("w1", Random(16 * 8 * 9, rng, 0.2f), {16, 8, 3, 3});
  b.Initializer("b1", Random(16, rng, 0.2f), {16});
  b.Initializer("w2", Random(16 * 16, rng, 0.2f), {16, 16, 1, 1});
  auto& c1 = b.Node("Conv", {"x", "w1", "b1"}, {"c1"});
  OnnxBuilder::IntsAttribute(c1, "pads", {1, 1, 1, 1});
  b.Node("Relu", {"c1"}, {"r1"});
  b.Node("Conv", {"r1", "w2"}, {"c2"});
  b.Node("Add", {"c2", "r1"}, {"y"});
  b.Output("y", DType::kFloat32, {2, 16, 7, 7});
  const std::string path = b.WriteTemp();
  int converted = 0;
  EXPECT_EQ(Ops(path, &converted), "Bf16Conv Bf16Conv");
  EXPECT_EQ(converted, 2);
  ExpectCloseToFloat32(path, {2, 8, 7, 7}, rng);
}

// MatMul + bias Add + GELU, then a Gemm with transB and C; a MatMul between two activations stays.
TEST(Bf16PrecisionTest, DenseLayersMatchFloat32AndActivationProductsStay) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  OnnxBuilder b(17);
  b.Input("x", DType::kFloat32, {6, 32});
  b.Initializer("w1", Random(32 * 24, rng, 0.3f), {32, 24});
  b.Initializer("b1", Random(24, rng, 0.3f), {24});
  b.Initializer("w2", Random(10 * 24, rng, 0.3f), {10, 24});
  b.Initializer("c2", Random(10, rng, 0.3f), {10});
  b.Initializer("sqrt2", {std::sqrt(2.0f)}, {});
  b.Initializer("one", {1.0f}, {});
  b.Initializer("half", {0.5f}, {});
  b.Node("MatMul", {"x", "w1"}, {"h"});
  b.Node("Add", {"h", "b1"}, {"z"});
  b.Node("Div", {"z", "sqrt2"}, {"d"});
  b.Node("Erf", {"d"}, {"e"});
  b.Node("Add", {"e", "one"}, {"p"});
  b.Node("Mul", {"z", "p"}, {"q"});
  b.Node("Mul", {"q", "half"}, {"g"});
  auto& gemm = b.Node("Gemm", {"g", "w2", "c2"}, {"o"});
  OnnxBuilder::IntAttribute(gemm, "transB", 1);
  b.Node("Transpose", {"o"}, {"ot"});
  b.Node("MatMul", {"o", "ot"}, {"y"});
  b.Output("y", DType::kFloat32, {6, 6});
  const std::string path = b.WriteTemp();
  int converted = 0;
  EXPECT_EQ(Ops(path, &converted), "Bf16MatMul Bf16MatMul Transpose MatMul");
  ExpectCloseToFloat32(path, {6, 32}, rng);
}

// The kernels let the float32 weight go once its first bfloat16 copy exists (bf16_weights.h): row counts
// and image sizes seen later, whose primitives may want other weight layouts, are served from that copy.
TEST(Bf16PrecisionTest, LaterShapesAfterTheFloatWeightIsDroppedStillMatch) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  OnnxBuilder dense(17);
  dense.Input("x", DType::kFloat32, {-1, 48});
  dense.Initializer("w", Random(48 * 40, rng, 0.3f), {48, 40});
  dense.Node("MatMul", {"x", "w"}, {"y"});
  dense.Output("y", DType::kFloat32, {-1, 40});
  ExpectCloseToFloat32(dense.WriteTemp(), {{1, 48}, {7, 48}, {256, 48}, {1, 48}}, rng);
  OnnxBuilder conv(17);
  conv.Input("x", DType::kFloat32, {1, 8, -1, -1});
  conv.Initializer("w", Random(16 * 8 * 9, rng, 0.2f), {16, 8, 3, 3});
  OnnxBuilder::IntsAttribute(conv.Node("Conv", {"x", "w"}, {"y"}), "pads", {1, 1, 1, 1});
  conv.Output("y", DType::kFloat32, {1, 16, -1, -1});
  ExpectCloseToFloat32(conv.WriteTemp(), {{1, 8, 5, 5}, {1, 8, 17, 9}, {1, 8, 2, 3}}, rng);
}

}  // namespace
}  // namespace tessera
