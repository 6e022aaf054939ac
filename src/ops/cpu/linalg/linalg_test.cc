// Det through one-node models: hand-checked and random matrices against cofactor expansion, plus
// inputs that must be rejected with an error.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/half.h"
#include "testing/one_node_model.h"
#include "testing/tensor_values.h"

namespace tessera {
namespace {

using namespace testing;  // NOLINT: the test vocabulary of testing/one_node_model.h and tensor_values.h

// --- Det ----------------------------------------------------------------------------------------------

StatusOr<std::vector<Tensor>> Det(const Tensor& x, int out_rank) {
  return OneNodeModel("Det", 13).Input("x", x).Output("y", out_rank, x.dtype()).Run();
}

TEST(SpecialDetTest, HandCheckedBatchIncludingPivotingAndSingular) {
  auto out = Det(F32({4, 3, 3}, {2, 0, 0, 0, 3, 0, 0, 0, 4,    // diagonal: 24
                                 0, 1, 0, 1, 0, 0, 0, 0, 1,    // one row swap: -1
                                 1, 2, 3, 4, 5, 6, 7, 8, 9,    // singular: 0
                                 0, 2, 1, 1, 1, 1, 3, 0, 2}),  // needs pivoting: -1
                 1);
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectNear(FloatValues((*out)[0]), {24, -1, 0, -1}, 1e-5);
}

TEST(SpecialDetTest, ScalarOutputDoubleAndEmptyShapes) {
  auto two = Det(Tensor::FromVector(DType::kFloat64, {2, 2}, std::vector<double>{1e-3, 2, 3, 4}), 0);
  ASSERT_TRUE(two.ok()) << two.status().message();
  EXPECT_EQ((*two)[0].shape(), Shape{});
  EXPECT_NEAR((*two)[0].data<double>()[0], 1e-3 * 4 - 6, 1e-12);
  auto no_matrices = Det(F32({0, 2, 2}, {}), 1);
  ASSERT_TRUE(no_matrices.ok()) << no_matrices.status().message();
  EXPECT_EQ((*no_matrices)[0].shape(), Shape{0});
  auto zero_by_zero = Det(F32({2, 0, 0}, {}), 1);  // the empty product
  ASSERT_TRUE(zero_by_zero.ok()) << zero_by_zero.status().message();
  ExpectNear(FloatValues((*zero_by_zero)[0]), {1, 1});
}

TEST(SpecialDetTest, RandomMatricesMatchCofactorExpansion) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-2, 2);
  std::vector<float> a(5 * 3 * 3);
  for (float& v : a) v = dist(rng);
  auto out = Det(F32({5, 3, 3}, a), 1);
  ASSERT_TRUE(out.ok()) << out.status().message();
  for (int b = 0; b < 5; ++b) {
    const float* m = &a[static_cast<size_t>(b * 9)];
    const double want =
        m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
    EXPECT_NEAR((*out)[0].data<float>()[b], want, 1e-5 * std::max(1.0, std::fabs(want)));
  }
}

TEST(SpecialDetTest, Float16ComputesInDouble) {
  std::vector<uint16_t> bits;
  for (float v : {1.0f, 2.0f, 3.0f, 4.0f}) bits.push_back(FloatToHalf(v));
  auto out = Det(Tensor::FromVector(DType::kFloat16, {2, 2}, bits), 0);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(HalfToFloat((*out)[0].data<uint16_t>()[0]), -2.0f);
}

TEST(SpecialDetTest, NonSquareAndVectorAreRejected) {
  EXPECT_FALSE(Det(F32({2, 3}, {1, 2, 3, 4, 5, 6}), 0).ok());
  EXPECT_FALSE(Det(F32({3}, {1, 2, 3}), 0).ok());
}

}  // namespace
}  // namespace tessera
