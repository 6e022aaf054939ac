// Softmax, LogSoftmax and Hardmax through one-node models against a double-precision reference, over
// seeded random shapes, both axis conventions (opset < 13 coerces to 2-D), and FastExp's accuracy.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "testing/one_node_model.h"
#include "ops/cpu/softmax/softmax_math.h"

namespace tessera {
namespace {

using testing::OneNodeModel;

// Reference over the [outer, k, inner] view.
std::vector<double> ReferenceSoftmax(const std::vector<float>& x, int64_t outer, int64_t k, int64_t inner, const std::string& op) {
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t j) { return static_cast<size_t>((o * k + j) * inner + i); };
      double mx = -INFINITY;
      int64_t arg = 0;
      for (int64_t j = 0; j < k; ++j) {
        if (x[at(j)] > mx) mx = x[at(j)], arg = j;
      }
      double sum = 0;
      for (int64_t j = 0; j < k; ++j) sum += std::exp(x[at(j)] - mx);
      for (int64_t j = 0; j < k; ++j) {
        if (op == "Softmax") y[at(j)] = std::exp(x[at(j)] - mx) / sum;
        else if (op == "LogSoftmax") y[at(j)] = x[at(j)] - mx - std::log(sum);
        else y[at(j)] = j == arg ? 1.0 : 0.0;
      }
    }
  }
  return y;
}

TEST(SoftmaxTest, RandomShapesAxesAndOpsetsMatchReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const char* ops[] = {"Softmax", "LogSoftmax", "Hardmax"};
  for (int trial = 0; trial < 45; ++trial) {
    const std::string op = ops[trial % 3];
    const int opset = trial % 2 ? 13 : 11;
    const int rank = 1 + static_cast<int>(rng() % 4);
    Shape shape;
    // Last dims up to 40 cover vector bodies and tails of the float32 row kernel.
    for (int d = 0; d < rank; ++d) shape.push_back(1 + static_cast<int64_t>(rng() % (d == rank - 1 ? 40 : 4)));
    const int64_t axis = static_cast<int64_t>(rng() % static_cast<unsigned>(rank)) - (rng() % 2 ? rank : 0);
    std::uniform_real_distribution<float> dist(-30.0f, 30.0f);
    std::vector<float> x(static_cast<size_t>(ShapeElementCount(shape)));
    for (float& v : x) v = dist(rng);
    const int64_t a = axis < 0 ? axis + rank : axis;
    int64_t outer = 1, k = 1, inner = 1;
    for (int64_t d = 0; d < rank; ++d) {
      const int64_t n = shape[static_cast<size_t>(d)];
      if (d < a) outer *= n;
      else if (d == a || opset < 13) k *= n;
      else inner *= n;
    }
    auto out = OneNodeModel(op, opset).Input("x", Tensor::FromVector(DType::kFloat32, shape, x)).Output("y", rank).Int("axis", axis).Run();
    ASSERT_TRUE(out.ok()) << op << ": " << out.status().message();
    const std::vector<double> want = ReferenceSoftmax(x, outer, k, inner, op);
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_NEAR((*out)[0].data<float>()[i], want[i], 1e-5 * std::max(1.0, std::fabs(want[i])))
          << op << "-" << opset << " shape " << ShapeToString(shape) << " axis " << axis << " at " << i;
    }
  }
}

TEST(SoftmaxTest, LargeValuesDoNotOverflow) {
  Tensor x = Tensor::FromVector(DType::kFloat32, {1, 3}, std::vector<float>{1000, 1001, 1002});
  auto out = OneNodeModel("Softmax", 13).Input("x", x).Output("y", 2).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_NEAR((*out)[0].data<float>()[2], 0.665241, 1e-5);
}

TEST(SoftmaxTest, DoubleInputUsesGenericPath) {
  Tensor x = Tensor::FromVector(DType::kFloat64, {2, 2}, std::vector<double>{0, std::log(3.0), 1, 1});
  auto out = OneNodeModel("Softmax", 13).Input("x", x).Output("y", 2, DType::kFloat64).Int("axis", 0).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_NEAR((*out)[0].data<double>()[0], 1.0 / (1.0 + std::exp(1.0)), 1e-12);
}

TEST(SoftmaxTest, ScalarAndBadAxisAreRejected) {
  Tensor scalar = Tensor::FromVector(DType::kFloat32, {}, std::vector<float>{1});
  EXPECT_FALSE(OneNodeModel("Softmax", 13).Input("x", scalar).Output("y", 0).Run().ok());
  Tensor x = Tensor::FromVector(DType::kFloat32, {2, 2}, std::vector<float>{1, 2, 3, 4});
  EXPECT_FALSE(OneNodeModel("LogSoftmax", 13).Input("x", x).Output("y", 2).Int("axis", 2).Run().ok());
}

TEST(FastExpTest, RelativeErrorWithinFewUlp) {
  double worst = 0;
  for (float x = -87.0f; x <= 88.0f; x += 0.001953125f) {
    const double want = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::fabs(FastExp(x) - want) / want);
  }
  EXPECT_LT(worst, 5e-7);
  EXPECT_EQ(FastExp(0.0f), 1.0f);
  EXPECT_EQ(FastExp(-1000.0f), 0.0f);  // no denormals: they would slow whatever reads them
  EXPECT_EQ(FastExp(-87.5f), 0.0f);
  EXPECT_GT(FastExp(-87.0f), 0.0f);
}

// An attention mask adds a huge negative number to masked scores: their probabilities are exactly 0, and
// no output is a denormal (scaling a tiny exp by 1/sum could otherwise make one).
TEST(SoftmaxTest, MaskedScoresGiveExactZerosNotDenormals) {
  std::vector<float> row(64, 0.0f);
  for (size_t i = 32; i < row.size(); ++i) row[i] = -3.4e38f;
  row[1] = -87.2f;  // exp is a normal float, divided by the sum of 32 ones it would not be
  Tensor x = Tensor::FromVector(DType::kFloat32, {1, 64}, row);
  auto y = OneNodeModel("Softmax", 13).Input("x", x).Output("y", 2).Run();
  ASSERT_TRUE(y.ok()) << y.status().message();
  for (int64_t i = 0; i < 64; ++i) {
    const float v = (*y)[0].data<float>()[i];
    EXPECT_TRUE(v == 0.0f || v >= 1.17549435e-38f) << "element " << i << " = " << v;
    if (i >= 32) EXPECT_EQ(v, 0.0f) << i;
  }
  EXPECT_NEAR((*y)[0].data<float>()[0], 1.0f / 31.0f, 1e-6f);
}

}  // namespace
}  // namespace tessera
