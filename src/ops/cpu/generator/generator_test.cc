// Generator kernels through one-node models: Constant's value attributes, ConstantOfShape, EyeLike and
// Range by hand-checked values (zero-size and scalar shapes included); the random ops by shape, dtype,
// range and reproducibility under a seed, since their numbers cannot match another runtime's.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "testing/one_node_model.h"
#include "testing/onnx_builder.h"
#include "testing/tensor_values.h"

namespace tessera {
namespace {

using testing::OneNodeModel;
using testing::Values;

Tensor Int64s(std::vector<int64_t> v) { return Tensor::FromVector(DType::kInt64, {static_cast<int64_t>(v.size())}, v); }
template <typename T>
Tensor Scalar(DType dtype, T v) {
  return Tensor::FromVector<T>(dtype, {}, {v});
}

TEST(GeneratorConstantTest, ValueIntsAndValueFloat) {
  auto ints = OneNodeModel("Constant", 13).Output("y", 1, DType::kInt64).Ints("value_ints", {4, -2}).Run();
  ASSERT_TRUE(ints.ok()) << ints.status().message();
  EXPECT_EQ(Values<int64_t>((*ints)[0]), (std::vector<int64_t>{4, -2}));
  auto f = OneNodeModel("Constant", 13).Output("y", 0).Float("value_float", 2.5f).Run();
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ((*f)[0].shape(), Shape{});
  EXPECT_EQ(Values<float>((*f)[0]), (std::vector<float>{2.5f}));
}

// A Constant node's `value` tensor feeding Reshape: folded when the session is built, so Reshape sees
// its shape as a constant input.
TEST(GeneratorConstantTest, TensorValueFeedsReshape) {
  testing::OnnxBuilder b(13);
  b.Input("x", DType::kFloat32, {2, 6});
  auto& c = b.Node("Constant", {}, {"shape"});
  auto* attr = c.add_attribute();
  attr->set_name("value");
  attr->set_type(onnx::AttributeProto::TENSOR);
  auto* t = attr->mutable_t();
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_dims(3);
  for (int64_t v : {3, -1, 2}) t->add_int64_data(v);
  b.Node("Reshape", {"x", "shape"}, {"y"});
  b.Output("y", DType::kFloat32, {3, 2, 2});
  auto session = Session::Load(b.WriteTemp());
  ASSERT_TRUE(session.ok()) << session.status().message();
  auto out = (*session)->Run({{"x", Tensor::FromVector<float>(DType::kFloat32, {2, 6}, std::vector<float>(12, 1.0f))}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{3, 2, 2}));
}

TEST(GeneratorConstantTest, TwoValueAttributesAreRejected) {
  auto out = OneNodeModel("Constant", 13).Output("y", 0).Float("value_float", 1.0f).Int("value_int", 2).Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("value_int"), std::string::npos) << out.status().message();
}

TEST(GeneratorConstantOfShapeTest, DefaultZeroScalarAndZeroSizeDims) {
  auto out = OneNodeModel("ConstantOfShape", 9).Input("s", Int64s({2, 3})).Output("y", 2).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Values<float>((*out)[0]), std::vector<float>(6, 0.0f));
  auto scalar = OneNodeModel("ConstantOfShape", 9).Input("s", Int64s({})).Output("y", 0).Run();
  ASSERT_TRUE(scalar.ok()) << scalar.status().message();
  EXPECT_EQ((*scalar)[0].shape(), Shape{});
  auto empty = OneNodeModel("ConstantOfShape", 9).Input("s", Int64s({4, 0})).Output("y", 2).Run();
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_EQ((*empty)[0].shape(), (Shape{4, 0}));
  auto negative = OneNodeModel("ConstantOfShape", 9).Input("s", Int64s({2, -1})).Output("y", 2).Run();
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.status().message().find("[2,-1]"), std::string::npos) << negative.status().message();
}

TEST(GeneratorEyeLikeTest, OffDiagonalAndDtype) {
  auto out = OneNodeModel("EyeLike", 9)
                 .Input("x", Tensor::FromVector<float>(DType::kFloat32, {3, 4}, std::vector<float>(12, 5.0f)))
                 .Output("y", 2, DType::kInt32)
                 .Int("k", -1)
                 .Int("dtype", static_cast<int64_t>(DType::kInt32))
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Values<int32_t>((*out)[0]), (std::vector<int32_t>{0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0}));
}

TEST(GeneratorRangeTest, IntegerNegativeDeltaFloatAndEmpty) {
  auto ints = OneNodeModel("Range", 11)
                  .Input("a", Scalar<int32_t>(DType::kInt32, 10))
                  .Input("b", Scalar<int32_t>(DType::kInt32, 3))
                  .Input("c", Scalar<int32_t>(DType::kInt32, -3))
                  .Output("y", 1, DType::kInt32)
                  .Run();
  ASSERT_TRUE(ints.ok()) << ints.status().message();
  EXPECT_EQ(Values<int32_t>((*ints)[0]), (std::vector<int32_t>{10, 7, 4}));
  auto floats = OneNodeModel("Range", 11)
                    .Input("a", Scalar<double>(DType::kFloat64, 0.5))
                    .Input("b", Scalar<double>(DType::kFloat64, 1.0))
                    .Input("c", Scalar<double>(DType::kFloat64, 0.2))
                    .Output("y", 1, DType::kFloat64)
                    .Run();
  ASSERT_TRUE(floats.ok()) << floats.status().message();
  ASSERT_EQ((*floats)[0].element_count(), 3);
  EXPECT_NEAR((*floats)[0].data<double>()[2], 0.9, 1e-12);
  auto empty = OneNodeModel("Range", 11)
                   .Input("a", Scalar<int64_t>(DType::kInt64, 5))
                   .Input("b", Scalar<int64_t>(DType::kInt64, 5))
                   .Input("c", Scalar<int64_t>(DType::kInt64, 1))
                   .Output("y", 1, DType::kInt64)
                   .Run();
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_EQ((*empty)[0].shape(), Shape{0});
}

TEST(GeneratorRangeTest, ZeroDeltaIsRejected) {
  auto out = OneNodeModel("Range", 11)
                 .Input("a", Scalar<int64_t>(DType::kInt64, 0))
                 .Input("b", Scalar<int64_t>(DType::kInt64, 5))
                 .Input("c", Scalar<int64_t>(DType::kInt64, 0))
                 .Output("y", 1, DType::kInt64)
                 .Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("delta"), std::string::npos) << out.status().message();
}

TEST(GeneratorRandomTest, SeededUniformIsInRangeAndReproducible) {
  auto run = [] {
    return OneNodeModel("RandomUniform", 1)
        .Output("y", 2)
        .Ints("shape", {50, 40})
        .Float("low", -2.0f)
        .Float("high", 3.0f)
        .Float("seed", 7.0f)
        .Run();
  };
  auto a = run(), b = run();
  ASSERT_TRUE(a.ok() && b.ok()) << a.status().message();
  EXPECT_EQ((*a)[0].shape(), (Shape{50, 40}));
  EXPECT_EQ(Values<float>((*a)[0]), Values<float>((*b)[0]));
  double mean = 0;
  for (float v : Values<float>((*a)[0])) {
    ASSERT_GE(v, -2.0f);
    ASSERT_LT(v, 3.0f);
    mean += v / 2000.0;
  }
  EXPECT_NEAR(mean, 0.5, 0.2);
}

TEST(GeneratorRandomTest, NormalLikeTakesShapeAndDtypeFromInput) {
  auto out = OneNodeModel("RandomNormalLike", 1)
                 .Input("x", Tensor::FromVector<double>(DType::kFloat64, {400, 10}, std::vector<double>(4000, 0.0)))
                 .Output("y", 2, DType::kFloat64)
                 .Float("mean", 10.0f)
                 .Float("scale", 0.5f)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ((*out)[0].dtype(), DType::kFloat64);
  double mean = 0;
  for (double v : Values<double>((*out)[0])) mean += v / 4000.0;
  EXPECT_NEAR(mean, 10.0, 0.1);
}

TEST(GeneratorRandomTest, BernoulliAndMultinomialWithCertainOutcomes) {
  auto bern = OneNodeModel("Bernoulli", 15)
                  .Input("p", Tensor::FromVector<float>(DType::kFloat32, {4}, {0.0f, 1.0f, 1.0f, 0.0f}))
                  .Output("y", 1, DType::kBool)
                  .Int("dtype", static_cast<int64_t>(DType::kBool))
                  .Run();
  ASSERT_TRUE(bern.ok()) << bern.status().message();
  EXPECT_EQ(Values<bool>((*bern)[0]), (std::vector<bool>{false, true, true, false}));
  auto multi =
      OneNodeModel("Multinomial", 7)
          .Input("x", Tensor::FromVector<float>(DType::kFloat32, {2, 3}, {0.0f, 100.0f, 0.0f, -100.0f, -100.0f, 0.0f}))
          .Output("y", 2, DType::kInt64)
          .Int("sample_size", 5)
          .Int("dtype", static_cast<int64_t>(DType::kInt64))
          .Run();
  ASSERT_TRUE(multi.ok()) << multi.status().message();
  EXPECT_EQ(Values<int64_t>((*multi)[0]), (std::vector<int64_t>{1, 1, 1, 1, 1, 2, 2, 2, 2, 2}));
}

}  // namespace
}  // namespace tessera
