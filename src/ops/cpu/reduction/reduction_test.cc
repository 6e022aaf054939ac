// Reduce*, ArgMax/ArgMin and CumSum through one-node models: a seeded random differential test against
// a double-precision reference, plus the spec's edge cases and rejected inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "testing/one_node_model.h"

namespace tessera {
namespace {

using testing::OneNodeModel;

Tensor RandomFloats(const Shape& shape, std::mt19937& rng, float lo = -2.0f, float hi = 2.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(ShapeElementCount(shape)));
  for (float& x : v) x = dist(rng);
  return Tensor::FromVector(DType::kFloat32, shape, v);
}

Tensor Int64s(const std::vector<int64_t>& v) { return Tensor::FromVector(DType::kInt64, {static_cast<int64_t>(v.size())}, v); }

// Double-precision reference of a Reduce op over `reduced` dims (keepdims layout is the same order).
std::vector<double> ReferenceReduce(const std::string& op, const Tensor& x, const std::vector<bool>& reduced) {
  const Shape& shape = x.shape();
  Shape out_shape = shape;
  for (size_t d = 0; d < shape.size(); ++d) if (reduced[d]) out_shape[d] = 1;
  const int64_t outputs = ShapeElementCount(out_shape);
  std::vector<std::vector<double>> members(static_cast<size_t>(outputs));
  std::vector<int64_t> index(shape.size(), 0);
  for (int64_t e = 0; e < x.element_count(); ++e) {
    int64_t o = 0;
    for (size_t d = 0; d < shape.size(); ++d) o = o * out_shape[d] + (reduced[d] ? 0 : index[d]);
    members[static_cast<size_t>(o)].push_back(x.data<float>()[e]);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  std::vector<double> out;
  for (const auto& m : members) {
    double sum = 0, sq = 0, abs = 0, prod = 1, mx = -INFINITY, mn = INFINITY;
    for (double v : m) sum += v, sq += v * v, abs += std::fabs(v), prod *= v, mx = std::max(mx, v), mn = std::min(mn, v);
    double lse = 0;
    for (double v : m) lse += std::exp(v - mx);
    if (op == "ReduceSum") out.push_back(sum);
    else if (op == "ReduceMean") out.push_back(sum / static_cast<double>(m.size()));
    else if (op == "ReduceMax") out.push_back(mx);
    else if (op == "ReduceMin") out.push_back(mn);
    else if (op == "ReduceProd") out.push_back(prod);
    else if (op == "ReduceL1") out.push_back(abs);
    else if (op == "ReduceL2") out.push_back(std::sqrt(sq));
    else if (op == "ReduceLogSum") out.push_back(std::log(sum));
    else if (op == "ReduceLogSumExp") out.push_back(mx + std::log(lse));
    else out.push_back(sq);
  }
  return out;
}

TEST(ReductionTest, RandomShapesAndAxesMatchReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const char* ops[] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
                       "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"};
  for (int trial = 0; trial < 60; ++trial) {
    const std::string op = ops[trial % 10];
    const int rank = 1 + static_cast<int>(rng() % 4);
    Shape shape;
    for (int d = 0; d < rank; ++d) shape.push_back(1 + static_cast<int64_t>(rng() % 5));
    // Positive inputs keep ReduceLogSum defined and ReduceProd well-conditioned.
    const bool positive = op == "ReduceLogSum" || op == "ReduceProd";
    Tensor x = RandomFloats(shape, rng, positive ? 0.5f : -2.0f, positive ? 1.5f : 2.0f);
    std::vector<bool> reduced(static_cast<size_t>(rank));
    std::vector<int64_t> axes;
    for (int d = 0; d < rank; ++d) {
      if (rng() % 2) {
        reduced[static_cast<size_t>(d)] = true;
        axes.push_back(rng() % 2 ? d : d - rank);  // mix negative axes in
      }
    }
    if (axes.empty()) reduced.assign(static_cast<size_t>(rank), true);  // empty axes: reduce everything
    // The installed ONNX checker stops at opset 17, so the input form is exercised through ReduceSum-13.
    const int opset = trial % 3 == 0 ? 11 : 13;
    OneNodeModel m{op, opset};
    m.Input("x", x);
    if (opset >= 13 && op == "ReduceSum") {
      if (!axes.empty()) m.Input("axes", Int64s(axes));
    } else {
      if (!axes.empty()) m.Ints("axes", axes);
    }
    auto out = m.Output("y", rank).Run();
    ASSERT_TRUE(out.ok()) << op << ": " << out.status().message();
    const std::vector<double> want = ReferenceReduce(op, x, reduced);
    ASSERT_EQ((*out)[0].element_count(), static_cast<int64_t>(want.size())) << op;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_NEAR((*out)[0].data<float>()[i], want[i], 1e-4 * std::max(1.0, std::fabs(want[i]))) << op << " at " << i;
    }
  }
}

TEST(ReductionTest, KeepdimsZeroDropsReducedAxes) {
  std::mt19937 rng(1);
  auto out = OneNodeModel("ReduceMean", 13).Input("x", RandomFloats({2, 3, 4}, rng)).Output("y", 2).Ints("axes", {-2}).Int("keepdims", 0).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{2, 4}));
}

TEST(ReductionTest, EmptyAxesInputWithNoopPassesThrough) {
  Tensor x = Tensor::FromVector(DType::kFloat32, {2, 2}, std::vector<float>{1, 2, 3, 4});
  auto out = OneNodeModel("ReduceSum", 13).Input("x", x).Input("axes", Int64s({})).Output("y", 2).Int("noop_with_empty_axes", 1).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{2, 2}));
  EXPECT_EQ((*out)[0].data<float>()[3], 4.0f);
}

TEST(ReductionTest, EmptyReductionGivesIdentityValues) {
  Tensor x = Tensor::FromVector(DType::kFloat32, {0, 3}, std::vector<float>{});
  auto sum = OneNodeModel("ReduceSum", 11).Input("x", x).Output("y", 2).Ints("axes", {0}).Run();
  ASSERT_TRUE(sum.ok()) << sum.status().message();
  ASSERT_EQ((*sum)[0].shape(), (Shape{1, 3}));
  EXPECT_EQ((*sum)[0].data<float>()[0], 0.0f);
  auto max = OneNodeModel("ReduceMax", 13).Input("x", x).Output("y", 1).Ints("axes", {0}).Int("keepdims", 0).Run();
  ASSERT_TRUE(max.ok()) << max.status().message();
  EXPECT_EQ((*max)[0].data<float>()[2], -std::numeric_limits<float>::infinity());
}

TEST(ReductionTest, LogSumExpOfLargeValuesDoesNotOverflow) {
  Tensor x = Tensor::FromVector(DType::kFloat32, {2}, std::vector<float>{1000.0f, 1000.0f});
  auto out = OneNodeModel("ReduceLogSumExp", 13).Input("x", x).Output("y", 1).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_NEAR((*out)[0].data<float>()[0], 1000.0 + std::log(2.0), 1e-3);
}

TEST(ReductionTest, IntegerSumWrapsInsteadOfOverflowing) {
  Tensor x = Tensor::FromVector(DType::kInt32, {3}, std::vector<int32_t>{std::numeric_limits<int32_t>::max(), 2, 0});
  auto out = OneNodeModel("ReduceSum", 13).Input("x", x).Output("y", 1, DType::kInt32).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].data<int32_t>()[0], std::numeric_limits<int32_t>::min() + 1);
}

TEST(ReductionTest, BadAxesAreRejected) {
  std::mt19937 rng(2);
  Tensor x = RandomFloats({2, 3}, rng);
  auto out_of_range = OneNodeModel("ReduceSum", 13).Input("x", x).Input("axes", Int64s({2})).Output("y", 1).Run();
  EXPECT_FALSE(out_of_range.ok());
  auto twice = OneNodeModel("ReduceMax", 13).Input("x", x).Output("y", 1).Ints("axes", {1, -1}).Run();
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("twice"), std::string::npos) << twice.status().message();
  Tensor float_axes = Tensor::FromVector(DType::kFloat32, {1}, std::vector<float>{0});
  EXPECT_FALSE(OneNodeModel("ReduceSum", 13).Input("x", x).Input("axes", float_axes).Output("y", 1).Run().ok());
}

TEST(ArgReduceTest, SelectLastIndexPicksLastTie) {
  Tensor x = Tensor::FromVector(DType::kFloat32, {2, 3}, std::vector<float>{1, 5, 5, 2, 2, 0});
  auto first = OneNodeModel("ArgMax", 13).Input("x", x).Output("y", 2, DType::kInt64).Int("axis", 1).Run();
  auto last = OneNodeModel("ArgMax", 13).Input("x", x).Output("y", 2, DType::kInt64).Int("axis", 1).Int("select_last_index", 1).Run();
  auto min = OneNodeModel("ArgMin", 13).Input("x", x).Output("y", 1, DType::kInt64).Int("axis", -2).Int("keepdims", 0).Run();
  ASSERT_TRUE(first.ok() && last.ok() && min.ok());
  EXPECT_EQ((*first)[0].data<int64_t>()[0], 1);
  EXPECT_EQ((*last)[0].data<int64_t>()[0], 2);
  EXPECT_EQ((*last)[0].data<int64_t>()[1], 1);
  ASSERT_EQ((*min)[0].shape(), (Shape{3}));
  EXPECT_EQ((*min)[0].data<int64_t>()[2], 1);
}

TEST(ArgReduceTest, EmptyAxisIsRejected) {
  Tensor x = Tensor::FromVector(DType::kFloat32, {2, 0}, std::vector<float>{});
  EXPECT_FALSE(OneNodeModel("ArgMax", 13).Input("x", x).Output("y", 2, DType::kInt64).Int("axis", 1).Run().ok());
}

TEST(CumSumTest, ExclusiveReverseAlongMiddleAxis) {
  Tensor x = Tensor::FromVector(DType::kInt64, {1, 3, 2}, std::vector<int64_t>{1, 2, 3, 4, 5, 6});
  Tensor axis = Tensor::FromVector(DType::kInt32, {}, std::vector<int32_t>{-2});
  auto out = OneNodeModel("CumSum", 14).Input("x", x).Input("axis", axis).Output("y", 3, DType::kInt64)
                 .Int("exclusive", 1).Int("reverse", 1).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  const int64_t* y = (*out)[0].data<int64_t>();
  EXPECT_EQ(std::vector<int64_t>(y, y + 6), (std::vector<int64_t>{8, 10, 5, 6, 0, 0}));
}

TEST(CumSumTest, NonScalarAxisIsRejected) {
  Tensor x = Tensor::FromVector(DType::kFloat32, {3}, std::vector<float>{1, 2, 3});
  EXPECT_FALSE(OneNodeModel("CumSum", 14).Input("x", x).Input("axis", Int64s({0, 0})).Output("y", 1).Run().ok());
  EXPECT_FALSE(OneNodeModel("CumSum", 14).Input("x", x).Input("axis", Int64s({1})).Output("y", 1).Run().ok());
}

}  // namespace
}  // namespace tessera
