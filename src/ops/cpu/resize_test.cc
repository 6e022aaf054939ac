// Resize: hand-checked upsampling and rejection of inconsistent scales/sizes.
#include <gtest/gtest.h>

#include "tessera/session.h"
#include "testing/onnx_builder.h"

namespace tessera {
namespace {

using testing::OnnxBuilder;

std::unique_ptr<Session> ResizeSession(const std::string& mode, const std::string& transform, int64_t scale_count) {
  OnnxBuilder b(13);
  b.Input("x", DType::kFloat32, {1, 1, 2, 2});
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
