// DeformConv beyond 2-D: with zero offsets a 1-D DeformConv is a plain convolution, a half-pixel offset
// averages neighbours, and more than three spatial dims are refused. (The 1-D and 3-D sums against a numpy
// reference, and 2-D against ONNX Runtime, are the ort_ops family `opset18`.)
#include <gtest/gtest.h>

#include "testing/one_node_model.h"
#include "testing/tensor_values.h"

namespace tessera {
namespace {

using namespace testing;  // NOLINT: the test vocabulary of testing/one_node_model.h and tensor_values.h

TEST(DeformConvTest, OneDimensionalWithZeroOffsetsIsAConvolution) {
  auto out = OneNodeModel("DeformConv", 19)
                 .Input("x", F32({1, 1, 4}, {1, 2, 3, 4}))
                 .Input("w", F32({1, 1, 2}, {10, 1}))
                 .Input("offset", F32({1, 2, 3}, {0, 0, 0, 0, 0.5f, 0}))
                 .Output("y", 3, DType::kFloat32)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  // Tap 1 of position 1 reads x at 1 + 1 + 0.5 = 2.5: (3 + 4) / 2.
  EXPECT_EQ(Values<float>((*out)[0]), (std::vector<float>{10 * 1 + 2, 10 * 2 + 3.5f, 10 * 3 + 4}));
  EXPECT_EQ((*out)[0].shape(), (Shape{1, 1, 3}));
}

TEST(DeformConvTest, FourSpatialDimsAreRefused) {
  auto out = OneNodeModel("DeformConv", 19)
                 .Input("x", F32({1, 1, 1, 1, 1, 1}, {1}))
                 .Input("w", F32({1, 1, 1, 1, 1, 1}, {1}))
                 .Input("offset", F32({1, 4, 1, 1, 1, 1}, {0, 0, 0, 0}))
                 .Output("y", 6, DType::kFloat32)
                 .Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("1 to 3 spatial dims"), std::string::npos) << out.status().message();
}

}  // namespace
}  // namespace tessera
