// The image-sampling ops through one-node models: GridSample and RoiAlign on hand-checked cases plus
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

StatusOr<std::vector<Tensor>> GridSample(const Tensor& x, const Tensor& grid, const std::string& mode,
                                         const std::string& padding, int align_corners) {
  return OneNodeModel("GridSample", 16)
      .Input("x", x)
      .Input("grid", grid)
      .Output("y", 4)
      .String("mode", mode)
      .String("padding_mode", padding)
      .Int("align_corners", align_corners)
      .Run();
}

// --- GridSample ---------------------------------------------------------------------------------------

TEST(SpecialGridSampleTest, PixelCentreGridReproducesInputInEveryMode) {
  // With align_corners=1, -1 and 1 are the centres of the corner pixels, so this grid hits every centre.
  const Tensor x = F32({1, 2, 2, 3}, {1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6});
  std::vector<float> grid;
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < 3; ++c) grid.insert(grid.end(), {static_cast<float>(c - 1), static_cast<float>(2 * r - 1)});
  }
  for (const char* mode : {"bilinear", "nearest", "bicubic"}) {
    auto out = GridSample(x, F32({1, 2, 3, 2}, grid), mode, "zeros", 1);
    ASSERT_TRUE(out.ok()) << mode << ": " << out.status().message();
    ExpectNear(FloatValues((*out)[0]), {1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6});
  }
}

TEST(SpecialGridSampleTest, BilinearCentreOfTwoByTwoIsTheMean) {
  auto out = GridSample(F32({1, 1, 2, 2}, {1, 2, 3, 4}), F32({1, 1, 1, 2}, {0, 0}), "bilinear", "zeros", 0);
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectNear(FloatValues((*out)[0]), {2.5});
}

TEST(SpecialGridSampleTest, PaddingModesOutsideTheImage) {
  // One row [10, 20, 30]; x = 1.5 with align_corners=1 is one pixel right of the last centre.
  const Tensor x = F32({1, 1, 1, 3}, {10, 20, 30});
  const Tensor grid = F32({1, 1, 2, 2}, {1.5f, 0, -1.5f, 0});
  auto zeros = GridSample(x, grid, "bilinear", "zeros", 1);
  auto border = GridSample(x, grid, "bilinear", "border", 1);
  auto reflection = GridSample(x, grid, "bilinear", "reflection", 1);
  ASSERT_TRUE(zeros.ok() && border.ok() && reflection.ok());
  ExpectNear(FloatValues((*zeros)[0]), {15, 5});        // half of the edge pixel, half zero
  ExpectNear(FloatValues((*border)[0]), {30, 10});      // clamped to the edge
  ExpectNear(FloatValues((*reflection)[0]), {25, 15});  // 2.5 reflects to 1.5, -0.5 to 0.5
}

TEST(SpecialGridSampleTest, NearestRoundsHalfToEven) {
  // align_corners=0 on width 4: x = -0.5 denormalizes to 1.0 - 0.5 = 0.5, which rounds to 0.
  auto out = GridSample(F32({1, 1, 1, 4}, {1, 2, 3, 4}), F32({1, 1, 1, 2}, {-0.5f, 0}), "nearest", "zeros", 0);
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectNear(FloatValues((*out)[0]), {1});
}

TEST(SpecialGridSampleTest, DoubleInputAndEmptyGrid) {
  const Tensor x = Tensor::FromVector(DType::kFloat64, {1, 1, 2, 2}, std::vector<double>{1, 2, 3, 4});
  const Tensor grid = Tensor::FromVector(DType::kFloat64, {1, 1, 1, 2}, std::vector<double>{0, 0});
  auto out = OneNodeModel("GridSample", 16).Input("x", x).Input("grid", grid).Output("y", 4, DType::kFloat64).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_DOUBLE_EQ((*out)[0].data<double>()[0], 2.5);
  auto empty = GridSample(F32({1, 1, 2, 2}, {1, 2, 3, 4}), F32({1, 0, 3, 2}, {}), "bilinear", "zeros", 0);
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_EQ((*empty)[0].shape(), (Shape{1, 1, 0, 3}));
}

TEST(SpecialGridSampleTest, BadGridShapeAndModeAreRejected) {
  const Tensor x = F32({1, 1, 2, 2}, {1, 2, 3, 4});
  EXPECT_FALSE(GridSample(x, F32({1, 1, 1, 3}, {0, 0, 0}), "bilinear", "zeros", 0).ok());
  EXPECT_FALSE(GridSample(x, F32({2, 1, 1, 2}, {0, 0, 0, 0}), "bilinear", "zeros", 0).ok());
  EXPECT_FALSE(GridSample(x, F32({1, 1, 1, 2}, {0, 0}), "trilinear", "zeros", 0).ok());
  EXPECT_FALSE(GridSample(x, F32({1, 1, 1, 2}, {0, 0}), "bilinear", "wrap", 0).ok());
}

// --- RoiAlign -----------------------------------------------------------------------------------------

StatusOr<std::vector<Tensor>> RoiAlign(int opset, const Tensor& x, const Tensor& rois, const Tensor& batch,
                                       const std::string& transform, const std::string& mode = "avg") {
  OneNodeModel m("RoiAlign", opset);
  m.Input("x", x)
      .Input("rois", rois)
      .Input("batch", batch)
      .Output("y", 4)
      .Int("output_height", 1)
      .Int("output_width", 1)
      .Int("sampling_ratio", 1)
      .String("mode", mode);
  if (!transform.empty()) m.String("coordinate_transformation_mode", transform);
  return m.Run();
}

TEST(SpecialRoiAlignTest, OneSampleIsBilinearAtTheBinCentre) {
  // Image [[0, 1], [2, 3]]; roi (0,0)-(1,1), one bin, one sample at its centre.
  const Tensor x = F32({1, 1, 2, 2}, {0, 1, 2, 3});
  const Tensor rois = F32({1, 4}, {0, 0, 1, 1});
  auto legacy = RoiAlign(16, x, rois, I64({1}, {0}), "output_half_pixel");
  auto shifted = RoiAlign(16, x, rois, I64({1}, {0}), "half_pixel");
  auto opset10 = RoiAlign(10, x, rois, I64({1}, {0}), "");
  ASSERT_TRUE(legacy.ok() && shifted.ok() && opset10.ok()) << legacy.status().message();
  ExpectNear(FloatValues((*legacy)[0]), {1.5});   // sample at (0.5, 0.5)
  ExpectNear(FloatValues((*shifted)[0]), {0.0});  // sample at (0, 0) after the half-pixel shift
  ExpectNear(FloatValues((*opset10)[0]), {1.5});  // opset 10 has no shift
}

TEST(SpecialRoiAlignTest, ConstantImagePoolsToItsValueOverBatchesAndChannels) {
  std::vector<float> data(2 * 3 * 6 * 6);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i / 36);  // one value per (n, c) plane
  OneNodeModel m("RoiAlign", 16);
  m.Input("x", F32({2, 3, 6, 6}, data))
      .Input("rois", F32({2, 4}, {0.5f, 0.5f, 5, 4, 1, 1, 3, 5}))
      .Input("batch", I64({2}, {1, 0}))
      .Output("y", 4)
      .Int("output_height", 2)
      .Int("output_width", 3);
  auto out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ((*out)[0].shape(), (Shape{2, 3, 2, 3}));
  const std::vector<float> y = FloatValues((*out)[0]);
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < 3; ++c) {
      for (int k = 0; k < 6; ++k) EXPECT_NEAR(y[static_cast<size_t>((r * 3 + c) * 6 + k)], (r == 0 ? 3 : 0) + c, 1e-5);
    }
  }
}

TEST(SpecialRoiAlignTest, MaxTakesLargestWeightedCorner) {
  // One sample at (0.5, 0.5): corners all weigh 0.25, so the largest weighted corner is 0.25 * 3.
  auto out = RoiAlign(16, F32({1, 1, 2, 2}, {0, 1, 2, 3}), F32({1, 4}, {0, 0, 1, 1}), I64({1}, {0}),
                      "output_half_pixel", "max");
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectNear(FloatValues((*out)[0]), {0.75});
}

TEST(SpecialRoiAlignTest, EmptyRoiWithAdaptiveSamplingPoolsToZero) {
  // half_pixel keeps a zero-size roi as it is, so the adaptive grid has no samples (Runtime gives 0);
  // output_half_pixel widens it to one pixel, whose one sample sits on the last pixel.
  for (const char* transform : {"half_pixel", "output_half_pixel"}) {
    for (const char* mode : {"avg", "max"}) {
      auto out = OneNodeModel("RoiAlign", 16)
                     .Input("x", F32({1, 1, 2, 2}, {4, 4, 4, 4}))
                     .Input("rois", F32({1, 4}, {1, 1, 1, 1}))
                     .Input("batch", I64({1}, {0}))
                     .Output("y", 4)
                     .String("coordinate_transformation_mode", transform)
                     .String("mode", mode)
                     .Run();
      ASSERT_TRUE(out.ok()) << out.status().message();
      const bool widened = std::string(transform) == "output_half_pixel";
      const double want = widened ? 4.0 : 0.0;
      ExpectNear(FloatValues((*out)[0]), {want});
    }
  }
}

TEST(SpecialRoiAlignTest, BadBatchIndexAndRoiShapeAreRejected) {
  const Tensor x = F32({1, 1, 2, 2}, {0, 1, 2, 3});
  auto out_of_range = RoiAlign(16, x, F32({1, 4}, {0, 0, 1, 1}), I64({1}, {1}), "half_pixel");
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_NE(out_of_range.status().message().find("batch_indices"), std::string::npos)
      << out_of_range.status().message();
  EXPECT_FALSE(RoiAlign(16, x, F32({1, 4}, {0, 0, 1, 1}), I64({1}, {-1}), "half_pixel").ok());
  EXPECT_FALSE(RoiAlign(16, x, F32({1, 3}, {0, 0, 1}), I64({1}, {0}), "half_pixel").ok());
  EXPECT_FALSE(RoiAlign(16, x, F32({1, 4}, {0, 0, 1, 1}), I64({2}, {0, 0}), "half_pixel").ok());
  EXPECT_FALSE(RoiAlign(16, x, F32({1, 4}, {0, 0, 1, 1}), I64({1}, {0}), "quarter_pixel").ok());
}

}  // namespace
}  // namespace tessera
