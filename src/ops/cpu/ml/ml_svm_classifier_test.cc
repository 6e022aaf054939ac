// SVMClassifier with string labels, which the ONNX Runtime cross-checks (tests/ort_ops/cases_ml.py, every
// kernel and form with int64 labels) cannot carry, and attributes that do not fit each other.
#include <gtest/gtest.h>

#include "testing/one_node_model.h"
#include "testing/tensor_values.h"

namespace tessera {
namespace {

using namespace testing;  // NOLINT: the test vocabulary of testing/one_node_model.h and tensor_values.h

// Three classes of one support vector each on a line: x near a vector wins its class's votes.
OneNodeModel ThreeClassModel() {
  OneNodeModel m("SVMClassifier", 1, "ai.onnx.ml");
  m.Input("x", F32({3, 1}, {-2.0f, 0.1f, 2.0f}))
      .Output("label", 1, DType::kString)
      .Output("scores", 2, DType::kFloat32)
      .Strings("classlabels_strings", {"low", "mid", "high"})
      .String("kernel_type", "LINEAR")
      .Floats("kernel_params", {0, 0, 0})
      .Ints("vectors_per_class", {1, 1, 1})
      .Floats("support_vectors", {-1.0f, 0.0f, 1.0f});
  return m;
}

TEST(SvmClassifierTest, StringLabelsFollowTheVotes) {
  // Decision values: (low, mid) -x - 0.5, (low, high) 0 (a vote for high), (mid, high) 0.5 - x; at x = -2
  // each class has one vote and the tie goes to the first.
  OneNodeModel m = ThreeClassModel();
  m.Floats("coefficients", {1.0f, 1.0f, 0.0f, 0.0f, 0.0f, -1.0f}).Floats("rho", {-0.5f, 0.0f, 0.5f});
  auto out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(StringValues((*out)[0]), (std::vector<std::string>{"low", "mid", "high"}));
  EXPECT_EQ((*out)[1].shape(), (Shape{3, 3}));  // the three pairs' decision values
}

TEST(SvmClassifierTest, CoefficientsTooFewForTheSupportVectorsAreRefused) {
  OneNodeModel m = ThreeClassModel();
  m.Floats("coefficients", {1.0f, 1.0f}).Floats("rho", {0.0f, 0.0f, 0.0f});
  auto out = m.Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("need 6"), std::string::npos) << out.status().message();
}

TEST(SvmClassifierTest, RhoForEveryPairIsRequired) {
  OneNodeModel m = ThreeClassModel();
  m.Floats("coefficients", std::vector<float>(6, 1.0f)).Floats("rho", {0.0f});
  auto out = m.Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("one value per pair"), std::string::npos) << out.status().message();
}

TEST(SvmClassifierTest, InputWithOtherFeatureCountIsRefused) {
  OneNodeModel m("SVMClassifier", 1, "ai.onnx.ml");
  m.Input("x", F32({1, 2}, {1.0f, 2.0f}))
      .Output("label", 1, DType::kInt64)
      .Output("scores", 2, DType::kFloat32)
      .Ints("classlabels_ints", {0, 1, 2})
      .Floats("coefficients", std::vector<float>(9, 0.5f))
      .Floats("rho", {0.0f});
  auto out = m.Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("X has 2 features"), std::string::npos) << out.status().message();
}

}  // namespace
}  // namespace tessera
