// Resize: hand-checked upsampling and rejection of inconsistent scales/sizes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "tessera/session.h"
#include "testing/onnx_builder.h"

namespace tessera {
namespace {

using testing::OnnxBuilder;

std::unique_ptr<Session> ResizeSession(const std::string& mode, const std::string& transform, int64_t scale_count,
                                       const Shape& input_shape = {1, 1, 2, 2}) {
  OnnxBuilder b(13);
  b.Input("x", DType::kFloat32, input_shape);
  b.Input("scales", DType::kFloat32, {scale_count});
  auto& n = b.Node("Resize", {"x", "", "scales"}, {"y"}, "resize");
  auto* m = n.add_attribute();
  m->set_name("mode");
  m->set_type(onnx::AttributeProto::STRING);
  m->set_s(mode);
  auto* t = n.add_attribute();
  t->set_name("coordinate_transformation_mode");
  t->set_type(onnx::AttributeProto::STRING);
  t->set_s(transform);
  b.Output("y", DType::kFloat32, {-1, -1, -1, -1});
  auto session = Session::Load(b.WriteTemp());
  EXPECT_TRUE(session.ok()) << session.status().message();
  return session.ok() ? std::move(session).value() : nullptr;
}

TEST(ResizeTest, NearestAsymmetricDoublesEachPixel) {
  auto s = ResizeSession("nearest", "asymmetric", 4);
  ASSERT_TRUE(s);
  Tensor x = Tensor::FromVector<float>(DType::kFloat32, {1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor scales = Tensor::FromVector<float>(DType::kFloat32, {4}, {1, 1, 2, 2});
  auto out = s->Run({{"x", x}, {"scales", scales}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ((*out)[0].shape(), (Shape{1, 1, 4, 4}));
  std::vector<float> want = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ((*out)[0].data<float>()[i], want[i]) << i;
}

TEST(ResizeTest, LinearAlignCornersKeepsCornersAndInterpolatesMidpoints) {
  auto s = ResizeSession("linear", "align_corners", 4);
  ASSERT_TRUE(s);
  Tensor x = Tensor::FromVector<float>(DType::kFloat32, {1, 1, 2, 2}, {0, 2, 4, 6});
  Tensor scales = Tensor::FromVector<float>(DType::kFloat32, {4}, {1, 1, 1.5f, 1.5f});
  auto out = s->Run({{"x", x}, {"scales", scales}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ((*out)[0].shape(), (Shape{1, 1, 3, 3}));
  std::vector<float> want = {0, 1, 2, 2, 3, 4, 4, 5, 6};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR((*out)[0].data<float>()[i], want[i], 1e-6) << i;
}

// Nearest sampling copies values: an infinity stays an infinity instead of becoming 0 * inf = NaN.
TEST(ResizeTest, NearestCopiesInfinitiesUnchanged) {
  auto s = ResizeSession("nearest", "asymmetric", 4);
  ASSERT_TRUE(s);
  const float inf = std::numeric_limits<float>::infinity();
  Tensor x = Tensor::FromVector<float>(DType::kFloat32, {1, 1, 2, 2}, {inf, 2, 3, -inf});
  Tensor scales = Tensor::FromVector<float>(DType::kFloat32, {4}, {1, 1, 2, 2});
  auto out = s->Run({{"x", x}, {"scales", scales}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  std::vector<float> want = {inf, inf, 2, 2, inf, inf, 2, 2, 3, 3, -inf, -inf, 3, 3, -inf, -inf};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ((*out)[0].data<float>()[i], want[i]) << i;
}

// Bilinear over height and width of several planes (the one-pass image path) against the formula.
TEST(ResizeTest, LinearHalfPixelOverManyPlanesMatchesTheFormula) {
  auto s = ResizeSession("linear", "half_pixel", 4, {2, 3, 4, 5});
  ASSERT_TRUE(s);
  std::vector<float> values(2 * 3 * 4 * 5);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>((i * 7) % 11) - 5.0f;
  Tensor x = Tensor::FromVector<float>(DType::kFloat32, {2, 3, 4, 5}, values);
  Tensor scales = Tensor::FromVector<float>(DType::kFloat32, {4}, {1, 1, 2, 2});
  auto out = s->Run({{"x", x}, {"scales", scales}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ((*out)[0].shape(), (Shape{2, 3, 8, 10}));
  // half_pixel: source coordinate (j + 0.5) / 2 - 0.5, clamped to the edges.
  auto tap = [](int64_t j, int64_t n, int64_t& lo, int64_t& hi, float& w) {
    double c = std::clamp((static_cast<double>(j) + 0.5) / 2.0 - 0.5, 0.0, static_cast<double>(n - 1));
    lo = static_cast<int64_t>(std::floor(c));
    hi = std::min<int64_t>(lo + 1, n - 1);
    w = static_cast<float>(c - static_cast<double>(lo));
  };
  for (int64_t p = 0; p < 6; ++p) {
    for (int64_t j = 0; j < 8; ++j) {
      for (int64_t i = 0; i < 10; ++i) {
        int64_t y0, y1, x0, x1;
        float wy, wx;
        tap(j, 4, y0, y1, wy);
        tap(i, 5, x0, x1, wx);
        auto at = [&](int64_t y, int64_t xx) { return values[static_cast<size_t>((p * 4 + y) * 5 + xx)]; };
        float want = (1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x1)) + wy * ((1 - wx) * at(y1, x0) + wx * at(y1, x1));
        EXPECT_NEAR((*out)[0].data<float>()[(p * 8 + j) * 10 + i], want, 1e-5) << p << " " << j << " " << i;
      }
    }
  }
}

TEST(ResizeTest, WrongScaleCountIsAnError) {
  auto s = ResizeSession("nearest", "asymmetric", 3);
  ASSERT_TRUE(s);
  Tensor x = Tensor::FromVector<float>(DType::kFloat32, {1, 1, 2, 2}, {1, 2, 3, 4});
  Tensor scales = Tensor::FromVector<float>(DType::kFloat32, {3}, {1, 2, 2});
  auto out = s->Run({{"x", x}, {"scales", scales}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("scales"), std::string::npos) << out.status().message();
}

TEST(ResizeTest, NegativeOrHugeScalesAreErrors) {
  auto s = ResizeSession("nearest", "asymmetric", 4);
  ASSERT_TRUE(s);
  Tensor x = Tensor::FromVector<float>(DType::kFloat32, {1, 1, 2, 2}, {1, 2, 3, 4});
  for (float bad : {-1.0f, 0.0f, 1e30f}) {
    Tensor scales = Tensor::FromVector<float>(DType::kFloat32, {4}, {1, 1, bad, 2});
    EXPECT_FALSE(s->Run({{"x", x}, {"scales", scales}}).ok()) << bad;
  }
}

}  // namespace
}  // namespace tessera
