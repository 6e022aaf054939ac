// Reshape, Squeeze/Unsqueeze, Flatten, Concat, Split, Slice, Shape and Size through one-node models:
// hand-checked cases for each opset form, negative axes, empty tensors and zero-size dims, int32 and
// int64 index inputs, and inputs that must be rejected with a message naming the value at fault.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "testing/one_node_model.h"
#include "testing/onnx_builder.h"
#include "testing/tensor_values.h"

namespace tessera {
namespace {

using testing::OneNodeModel;
using testing::Values;

Tensor Iota(Shape shape) {
  std::vector<float> v(static_cast<size_t>(ShapeElementCount(shape)));
  std::iota(v.begin(), v.end(), 0.0f);
  return Tensor::FromVector(DType::kFloat32, std::move(shape), v);
}
Tensor Int64s(std::vector<int64_t> v) { return Tensor::FromVector(DType::kInt64, {static_cast<int64_t>(v.size())}, v); }
Tensor Int32s(std::vector<int32_t> v) { return Tensor::FromVector(DType::kInt32, {static_cast<int64_t>(v.size())}, v); }

TEST(ShapeReshapeTest, ZeroCopiesDimAndMinusOneInfers) {
  auto out = OneNodeModel("Reshape", 13).Input("x", Iota({2, 3, 4})).Input("s", Int64s({0, -1})).Output("y", 2).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{2, 12}));
  EXPECT_EQ(Values<float>((*out)[0])[13], 13.0f);
}

TEST(ShapeReshapeTest, AllowZeroKeepsZeroDim) {
  auto out = OneNodeModel("Reshape", 14)
                 .Input("x", Iota({0, 3}))
                 .Input("s", Int64s({3, 0}))
                 .Output("y", 2)
                 .Int("allowzero", 1)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{3, 0}));
}

TEST(ShapeReshapeTest, AttributeFormBeforeOpset5) {
  auto out = OneNodeModel("Reshape", 4).Input("x", Iota({2, 3})).Output("y", 1).Ints("shape", {6}).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{6}));
}

TEST(ShapeReshapeTest, MismatchedCountIsAnErrorNamingBothShapes) {
  auto out = OneNodeModel("Reshape", 13).Input("x", Iota({2, 3})).Input("s", Int64s({4, 2})).Output("y", 2).Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("[2,3]"), std::string::npos) << out.status().message();
  EXPECT_NE(out.status().message().find("[4,2]"), std::string::npos) << out.status().message();
}

TEST(ShapeReshapeTest, TwoInferredDimsAreRejected) {
  auto out = OneNodeModel("Reshape", 13).Input("x", Iota({2, 3})).Input("s", Int64s({-1, -1})).Output("y", 2).Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("more than one -1"), std::string::npos) << out.status().message();
}

TEST(ShapeSqueezeTest, AttributeAndInputFormsWithNegativeAxes) {
  auto old_form = OneNodeModel("Squeeze", 11).Input("x", Iota({1, 3, 1})).Output("y", 2).Ints("axes", {-1}).Run();
  ASSERT_TRUE(old_form.ok()) << old_form.status().message();
  EXPECT_EQ((*old_form)[0].shape(), (Shape{1, 3}));
  auto new_form = OneNodeModel("Squeeze", 13).Input("x", Iota({1, 3, 1})).Output("y", 1).Run();
  ASSERT_TRUE(new_form.ok()) << new_form.status().message();
  EXPECT_EQ((*new_form)[0].shape(), (Shape{3}));
  auto unsq = OneNodeModel("Unsqueeze", 13).Input("x", Iota({3})).Input("a", Int64s({-1, 0})).Output("y", 3).Run();
  ASSERT_TRUE(unsq.ok()) << unsq.status().message();
  EXPECT_EQ((*unsq)[0].shape(), (Shape{1, 3, 1}));
}

TEST(ShapeSqueezeTest, SqueezingADimOtherThanOneIsRejected) {
  auto out = OneNodeModel("Squeeze", 13).Input("x", Iota({2, 3})).Input("a", Int64s({1})).Output("y", 1).Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("[2,3]"), std::string::npos) << out.status().message();
}

TEST(ShapeFlattenTest, AxisZeroAndNegativeAxis) {
  auto a0 = OneNodeModel("Flatten", 13).Input("x", Iota({2, 3, 4})).Output("y", 2).Int("axis", 0).Run();
  ASSERT_TRUE(a0.ok()) << a0.status().message();
  EXPECT_EQ((*a0)[0].shape(), (Shape{1, 24}));
  auto neg = OneNodeModel("Flatten", 13).Input("x", Iota({2, 3, 4})).Output("y", 2).Int("axis", -1).Run();
  ASSERT_TRUE(neg.ok()) << neg.status().message();
  EXPECT_EQ((*neg)[0].shape(), (Shape{6, 4}));
}

TEST(ShapeConcatTest, NegativeAxisWithAnEmptyInput) {
  auto out = OneNodeModel("Concat", 13)
                 .Input("a", Iota({2, 1}))
                 .Input("b", Iota({2, 0}))
                 .Input("c", Iota({2, 2}))
                 .Output("y", 2)
                 .Int("axis", -1)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{2, 3}));
  EXPECT_EQ(Values<float>((*out)[0]), (std::vector<float>{0, 0, 1, 1, 2, 3}));
}

TEST(ShapeConcatTest, MismatchedDimsAreRejected) {
  auto out =
      OneNodeModel("Concat", 13).Input("a", Iota({2, 1})).Input("b", Iota({3, 1})).Output("y", 2).Int("axis", 1).Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("[3,1]"), std::string::npos) << out.status().message();
}

TEST(ShapeSplitTest, AttributeFormAndInputForm) {
  auto old_form = OneNodeModel("Split", 11)
                      .Input("x", Iota({2, 5}))
                      .Output("a", 2)
                      .Output("b", 2)
                      .Int("axis", -1)
                      .Ints("split", {2, 3})
                      .Run();
  ASSERT_TRUE(old_form.ok()) << old_form.status().message();
  EXPECT_EQ(Values<float>((*old_form)[1]), (std::vector<float>{2, 3, 4, 7, 8, 9}));
  auto new_form =
      OneNodeModel("Split", 13).Input("x", Iota({4, 1})).Input("s", Int64s({0, 4})).Output("a", 2).Output("b", 2).Run();
  ASSERT_TRUE(new_form.ok()) << new_form.status().message();
  EXPECT_EQ((*new_form)[0].shape(), (Shape{0, 1}));
  EXPECT_EQ((*new_form)[1].shape(), (Shape{4, 1}));
  EXPECT_EQ(Values<float>((*new_form)[1]), (std::vector<float>{0, 1, 2, 3}));  // a view into x
}

TEST(ShapeSplitTest, LeadingAxisViewsKeepTheirOffsets) {
  auto out = OneNodeModel("Split", 13).Input("x", Iota({1, 6, 2})).Output("a", 3).Output("b", 3).Int("axis", 1).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Values<float>((*out)[1]), (std::vector<float>{6, 7, 8, 9, 10, 11}));
}

TEST(ShapeSplitTest, UnevenEqualSplitBeforeOpset18IsRejected) {
  auto out = OneNodeModel("Split", 13).Input("x", Iota({5})).Output("a", 1).Output("b", 1).Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("evenly"), std::string::npos) << out.status().message();
}

TEST(ShapeSliceTest, NegativeStepsClampingAndInt32Inputs) {
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  auto out = OneNodeModel("Slice", 13)
                 .Input("x", Iota({3, 4}))
                 .Input("starts", Int64s({-1, 1}))
                 .Input("ends", Int64s({-kMax, kMax}))
                 .Input("axes", Int64s({1, 0}))
                 .Input("steps", Int64s({-2, 1}))
                 .Output("y", 2)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(Values<float>((*out)[0]), (std::vector<float>{7, 5, 11, 9}));
  auto i32 = OneNodeModel("Slice", 13)
                 .Input("x", Iota({3, 4}))
                 .Input("starts", Int32s({1}))
                 .Input("ends", Int32s({3}))
                 .Output("y", 2)
                 .Run();
  ASSERT_TRUE(i32.ok()) << i32.status().message();
  EXPECT_EQ(Values<float>((*i32)[0]), (std::vector<float>{4, 5, 6, 7, 8, 9, 10, 11}));
}

TEST(ShapeSliceTest, AttributeFormAndEmptyResult) {
  auto out = OneNodeModel("Slice", 9)
                 .Input("x", Iota({3, 4}))
                 .Output("y", 2)
                 .Ints("starts", {0, 3})
                 .Ints("ends", {2, 1})
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{2, 0}));
}

TEST(ShapeSliceTest, ExtremeStepsSelectOneElement) {
  for (int64_t step : {std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()}) {
    auto out = OneNodeModel("Slice", 13)
                   .Input("x", Iota({5}))
                   .Input("starts", Int64s({step > 0 ? 1 : 3}))
                   .Input("ends", Int64s({step > 0 ? 5 : -6}))
                   .Input("axes", Int64s({0}))
                   .Input("steps", Int64s({step}))
                   .Output("y", 1)
                   .Run();
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ(Values<float>((*out)[0]), (std::vector<float>{step > 0 ? 1.0f : 3.0f}));
  }
}

TEST(ShapeSliceTest, ZeroStepIsRejected) {
  auto out = OneNodeModel("Slice", 13)
                 .Input("x", Iota({3}))
                 .Input("starts", Int64s({0}))
                 .Input("ends", Int64s({3}))
                 .Input("axes", Int64s({0}))
                 .Input("steps", Int64s({0}))
                 .Output("y", 1)
                 .Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("step"), std::string::npos) << out.status().message();
}

TEST(ShapeInfoTest, ShapeStartEndAndSize) {
  auto shape =
      OneNodeModel("Shape", 15).Input("x", Iota({2, 0, 5})).Output("y", 1, DType::kInt64).Int("start", -2).Run();
  ASSERT_TRUE(shape.ok()) << shape.status().message();
  EXPECT_EQ(Values<int64_t>((*shape)[0]), (std::vector<int64_t>{0, 5}));
  auto size = OneNodeModel("Size", 13).Input("x", Iota({2, 0, 5})).Output("y", 0, DType::kInt64).Run();
  ASSERT_TRUE(size.ok()) << size.status().message();
  EXPECT_EQ(Values<int64_t>((*size)[0]), (std::vector<int64_t>{0}));
}

// Runs longer than the parallel grain are cut into chunks copied by several threads; each chunk must
// land at its own offset.
TEST(ShapeConcatTest, LongRunsSplitAcrossThreadsKeepTheirOrder) {
  const int64_t n = 300001;
  auto out =
      OneNodeModel("Concat", 13).Input("a", Iota({1, n})).Input("b", Iota({1, n})).Output("y", 2).Int("axis", 1).Run(2);
  ASSERT_TRUE(out.ok()) << out.status().message();
  const float* y = (*out)[0].data<float>();
  for (int64_t i = 0; i < 2 * n; i += 997) ASSERT_EQ(y[i], static_cast<float>(i % n)) << i;
  ASSERT_EQ(y[2 * n - 1], static_cast<float>(n - 1));
}

TEST(ShapeReshapeTest, Int32ShapeInputIsAccepted) {
  auto out = OneNodeModel("Reshape", 13).Input("x", Iota({2, 3})).Input("s", Int32s({3, -1})).Output("y", 2).Run();
  if (!out.ok() && out.status().message().find("checker") != std::string::npos)
    GTEST_SKIP() << "the ONNX checker rejects int32 shapes";
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{3, 2}));
}

// Shape -> Slice -> Concat -> Reshape, as exporters emit for "flatten all but the batch dim": the new
// shape exists only at run time.
TEST(ShapeChainTest, ShapeSliceConcatReshapeAtRunTime) {
  testing::OnnxBuilder b(13);
  b.Input("x", DType::kFloat32, {-1, 3, 4});
  b.graph().add_initializer()->CopyFrom([] {
    onnx::TensorProto t;
    t.set_name("minus_one");
    t.set_data_type(onnx::TensorProto::INT64);
    t.add_dims(1);
    t.add_int64_data(-1);
    return t;
  }());
  for (const auto& [name, value] : std::vector<std::pair<std::string, int64_t>>{{"zero", 0}, {"one", 1}}) {
    auto* t = b.graph().add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(1);
    t->add_int64_data(value);
  }
  b.Node("Shape", {"x"}, {"s"});
  b.Node("Slice", {"s", "zero", "one"}, {"batch"});
  b.Node("Concat", {"batch", "minus_one"}, {"new_shape"}).add_attribute()->CopyFrom([] {
    onnx::AttributeProto a;
    a.set_name("axis");
    a.set_type(onnx::AttributeProto::INT);
    a.set_i(0);
    return a;
  }());
  b.Node("Reshape", {"x", "new_shape"}, {"y"});
  b.Output("y", DType::kFloat32, {-1, -1});
  auto session = Session::Load(b.WriteTemp());
  ASSERT_TRUE(session.ok()) << session.status().message();
  for (int64_t batch : {1, 3}) {
    auto out = (*session)->Run({{"x", Iota({batch, 3, 4})}});
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ((*out)[0].shape(), (Shape{batch, 12}));
  }
}

}  // namespace
}  // namespace tessera
