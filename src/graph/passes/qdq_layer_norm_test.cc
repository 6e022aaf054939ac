// FuseLayerNormQuantize: which LayerNorm -> QuantizeLinear graphs become LayerNormQuantize (and which stay),
// and the fused model's float and quantized outputs against the same model run unfused (optimize = false).
// Inputs are seeded random; the seed is printed on failure.
#include "graph/passes/qdq_layer_norm.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "model/onnx_loader.h"
#include "tessera/session.h"
#include "testing/onnx_builder.h"

namespace tessera {
namespace {

using testing::OnnxBuilder;

std::vector<float> Random(std::mt19937& rng, size_t n, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// x -> LayerNormalization(scale, bias) -> y; QuantizeLinear(y) -> y_q; Add(y, r) -> sum (the residual
// reader); with `third_reader`, also Relu(y) -> y_relu. Outputs: y_q, sum[, y_relu].
std::string LayerNormModel(std::mt19937& rng, bool constant_scale, bool third_reader) {
  OnnxBuilder b(17);
  const int64_t n = 24;
  b.Input("x", DType::kFloat32, {3, 5, n});
  b.Input("r", DType::kFloat32, {3, 5, n});
  if (constant_scale) {
    b.Initializer("scale", Random(rng, n, 0.5f, 1.5f), {n});
  } else {
    b.Input("scale", DType::kFloat32, {n});
  }
  b.Initializer("bias", Random(rng, n, -0.5f, 0.5f), {n});
  b.Initializer("y_s", {0.02f}, {});
  testing::SetTensorProto(b.graph().add_initializer(), "y_zp",
                          Tensor::FromVector(DType::kUInt8, {}, std::vector<uint8_t>{120}));
  auto& ln = b.Node("LayerNormalization", {"x", "scale", "bias"}, {"y"});
  OnnxBuilder::FloatAttribute(ln, "epsilon", 1e-6f);
  b.Node("QuantizeLinear", {"y", "y_s", "y_zp"}, {"y_q"});
  b.Node("Add", {"y", "r"}, {"sum"});
  b.Output("y_q", DType::kUInt8, {});
  b.Output("sum", DType::kFloat32, {});
  if (third_reader) {
    b.Node("Relu", {"y"}, {"y_relu"});
    b.Output("y_relu", DType::kFloat32, {});
  }
  return b.WriteTemp();
}

std::string OpsAfterFusion(const std::string& path, int* fused) {
  auto model = LoadModelFromFile(path);
  EXPECT_TRUE(model.ok()) << model.status().message();
  if (!model.ok()) return "";
  *fused = FuseLayerNormQuantize(*model->graph);
  std::string s;
  for (const Node& node : model->graph->nodes) s += (s.empty() ? "" : " ") + node.op_type;
  return s;
}

void ExpectSameAsUnfused(const std::string& path, std::mt19937& rng, bool scale_input) {
  SessionOptions plain;
  plain.optimize = false;
  auto fused = Session::Load(path, SessionOptions{});
  auto reference = Session::Load(path, plain);
  ASSERT_TRUE(fused.ok()) << fused.status().message();
  ASSERT_TRUE(reference.ok()) << reference.status().message();
  std::vector<std::pair<std::string, Tensor>> feeds = {
      {"x", Tensor::FromVector(DType::kFloat32, {3, 5, 24}, Random(rng, 360, -3.0f, 3.0f))},
      {"r", Tensor::FromVector(DType::kFloat32, {3, 5, 24}, Random(rng, 360, -1.0f, 1.0f))}};
  if (scale_input) feeds.push_back({"scale", Tensor::FromVector(DType::kFloat32, {24}, Random(rng, 24, 0.5f, 1.5f))});
  auto got = (*fused)->Run(feeds);
  auto want = (*reference)->Run(feeds);
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_TRUE(want.ok()) << want.status().message();
  ASSERT_EQ(got->size(), want->size());
  // The codes quantize float32 values equal to within rounding: at most one code apart.
  const Tensor& q = (*got)[0];
  ASSERT_EQ(q.dtype(), DType::kUInt8);
  for (int64_t i = 0; i < q.element_count(); ++i) {
    ASSERT_LE(std::abs(int{q.data<uint8_t>()[i]} - int{(*want)[0].data<uint8_t>()[i]}), 1) << "at " << i;
  }
  for (size_t o = 1; o < got->size(); ++o) {
    for (int64_t i = 0; i < (*got)[o].element_count(); ++i) {
      ASSERT_NEAR((*got)[o].data<float>()[i], (*want)[o].data<float>()[i], 1e-4f) << "output " << o << " at " << i;
    }
  }
}

TEST(QdqLayerNormTest, LayerNormFeedingQuantizeAndResidualAddBecomesOneNode) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const std::string path = LayerNormModel(rng, /*constant_scale=*/true, /*third_reader=*/false);
  int fused = 0;
  EXPECT_EQ(OpsAfterFusion(path, &fused), "LayerNormQuantize Add");
  EXPECT_EQ(fused, 1);
  ExpectSameAsUnfused(path, rng, false);
}

TEST(QdqLayerNormTest, ThirdReaderKeepsTheFloatOutput) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const std::string path = LayerNormModel(rng, true, /*third_reader=*/true);
  int fused = 0;
  EXPECT_EQ(OpsAfterFusion(path, &fused), "LayerNormQuantize Add Relu");
  EXPECT_EQ(fused, 1);
  ExpectSameAsUnfused(path, rng, false);
}

TEST(QdqLayerNormTest, ScaleFromAnInputIsLeftAlone) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const std::string path = LayerNormModel(rng, /*constant_scale=*/false, false);
  int fused = 0;
  EXPECT_EQ(OpsAfterFusion(path, &fused), "LayerNormalization QuantizeLinear Add");
  EXPECT_EQ(fused, 0);
  ExpectSameAsUnfused(path, rng, true);
}

}  // namespace
}  // namespace tessera
