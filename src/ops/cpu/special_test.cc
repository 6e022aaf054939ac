// Special ops through one-node models: GridSample, RoiAlign, Det, StringNormalizer, TfIdfVectorizer and
// the training optimizers, each on hand-checked cases plus inputs that must be rejected with an error.
// The signal ops (DFT, STFT, windows, MelWeightMatrix) are in special_signal_test.cc.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/half.h"
#include "ops/cpu/special_test_model.h"

namespace tessera {
namespace {

using testing::SpecialNodeModel;

constexpr const char* kTraining = "ai.onnx.preview.training";

Tensor F32(Shape shape, std::vector<float> v) { return Tensor::FromVector(DType::kFloat32, std::move(shape), v); }
Tensor I64(Shape shape, std::vector<int64_t> v) { return Tensor::FromVector(DType::kInt64, std::move(shape), v); }
Tensor Str(Shape shape, const std::vector<std::string>& v) {
  return Tensor::FromVector(DType::kString, std::move(shape), v);
}

std::vector<float> Values(const Tensor& t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.element_count());
}
std::vector<std::string> Strings(const Tensor& t) {
  return std::vector<std::string>(t.data<std::string>(), t.data<std::string>() + t.element_count());
}

void ExpectNear(const std::vector<float>& got, const std::vector<double>& want, double tol = 1e-5) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "at " << i;
}

StatusOr<std::vector<Tensor>> GridSample(const Tensor& x, const Tensor& grid, const std::string& mode,
                                         const std::string& padding, int align_corners) {
  return SpecialNodeModel("GridSample", 16)
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
    ExpectNear(Values((*out)[0]), {1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6});
  }
}

TEST(SpecialGridSampleTest, BilinearCentreOfTwoByTwoIsTheMean) {
  auto out = GridSample(F32({1, 1, 2, 2}, {1, 2, 3, 4}), F32({1, 1, 1, 2}, {0, 0}), "bilinear", "zeros", 0);
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectNear(Values((*out)[0]), {2.5});
}

TEST(SpecialGridSampleTest, PaddingModesOutsideTheImage) {
  // One row [10, 20, 30]; x = 1.5 with align_corners=1 is one pixel right of the last centre.
  const Tensor x = F32({1, 1, 1, 3}, {10, 20, 30});
  const Tensor grid = F32({1, 1, 2, 2}, {1.5f, 0, -1.5f, 0});
  auto zeros = GridSample(x, grid, "bilinear", "zeros", 1);
  auto border = GridSample(x, grid, "bilinear", "border", 1);
  auto reflection = GridSample(x, grid, "bilinear", "reflection", 1);
  ASSERT_TRUE(zeros.ok() && border.ok() && reflection.ok());
  ExpectNear(Values((*zeros)[0]), {15, 5});        // half of the edge pixel, half zero
  ExpectNear(Values((*border)[0]), {30, 10});      // clamped to the edge
  ExpectNear(Values((*reflection)[0]), {25, 15});  // 2.5 reflects to 1.5, -0.5 to 0.5
}

TEST(SpecialGridSampleTest, NearestRoundsHalfToEven) {
  // align_corners=0 on width 4: x = -0.5 denormalizes to 1.0 - 0.5 = 0.5, which rounds to 0.
  auto out = GridSample(F32({1, 1, 1, 4}, {1, 2, 3, 4}), F32({1, 1, 1, 2}, {-0.5f, 0}), "nearest", "zeros", 0);
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectNear(Values((*out)[0]), {1});
}

TEST(SpecialGridSampleTest, DoubleInputAndEmptyGrid) {
  const Tensor x = Tensor::FromVector(DType::kFloat64, {1, 1, 2, 2}, std::vector<double>{1, 2, 3, 4});
  const Tensor grid = Tensor::FromVector(DType::kFloat64, {1, 1, 1, 2}, std::vector<double>{0, 0});
  auto out = SpecialNodeModel("GridSample", 16).Input("x", x).Input("grid", grid).Output("y", 4, DType::kFloat64).Run();
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
  SpecialNodeModel m("RoiAlign", opset);
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
  ExpectNear(Values((*legacy)[0]), {1.5});   // sample at (0.5, 0.5)
  ExpectNear(Values((*shifted)[0]), {0.0});  // sample at (0, 0) after the half-pixel shift
  ExpectNear(Values((*opset10)[0]), {1.5});  // opset 10 has no shift
}

TEST(SpecialRoiAlignTest, ConstantImagePoolsToItsValueOverBatchesAndChannels) {
  std::vector<float> data(2 * 3 * 6 * 6);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i / 36);  // one value per (n, c) plane
  SpecialNodeModel m("RoiAlign", 16);
  m.Input("x", F32({2, 3, 6, 6}, data))
      .Input("rois", F32({2, 4}, {0.5f, 0.5f, 5, 4, 1, 1, 3, 5}))
      .Input("batch", I64({2}, {1, 0}))
      .Output("y", 4)
      .Int("output_height", 2)
      .Int("output_width", 3);
  auto out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ((*out)[0].shape(), (Shape{2, 3, 2, 3}));
  const std::vector<float> y = Values((*out)[0]);
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
  ExpectNear(Values((*out)[0]), {0.75});
}

TEST(SpecialRoiAlignTest, EmptyRoiWithAdaptiveSamplingPoolsToZero) {
  // half_pixel keeps a zero-size roi as it is, so the adaptive grid has no samples (Runtime gives 0);
  // output_half_pixel widens it to one pixel, whose one sample sits on the last pixel.
  for (const char* transform : {"half_pixel", "output_half_pixel"}) {
    for (const char* mode : {"avg", "max"}) {
      auto out = SpecialNodeModel("RoiAlign", 16)
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
      ExpectNear(Values((*out)[0]), {want});
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

// --- Det ----------------------------------------------------------------------------------------------

StatusOr<std::vector<Tensor>> Det(const Tensor& x, int out_rank) {
  return SpecialNodeModel("Det", 13).Input("x", x).Output("y", out_rank, x.dtype()).Run();
}

TEST(SpecialDetTest, HandCheckedBatchIncludingPivotingAndSingular) {
  auto out = Det(F32({4, 3, 3}, {2, 0, 0, 0, 3, 0, 0, 0, 4,    // diagonal: 24
                                 0, 1, 0, 1, 0, 0, 0, 0, 1,    // one row swap: -1
                                 1, 2, 3, 4, 5, 6, 7, 8, 9,    // singular: 0
                                 0, 2, 1, 1, 1, 1, 3, 0, 2}),  // needs pivoting: -1
                 1);
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectNear(Values((*out)[0]), {24, -1, 0, -1}, 1e-5);
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
  ExpectNear(Values((*zero_by_zero)[0]), {1, 1});
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

// --- StringNormalizer ---------------------------------------------------------------------------------

SpecialNodeModel Normalizer(const Tensor& x, int out_rank) {
  SpecialNodeModel m("StringNormalizer", 10);
  m.Input("x", x).Output("y", out_rank, DType::kString);
  return m;
}

TEST(SpecialStringNormalizerTest, CaseInsensitiveStopWordsAndUpperCase) {
  auto out = Normalizer(Str({1, 4}, {"Monday", "tuesday", "MONDAY", "straße"}), 2)
                 .String("case_change_action", "UPPER")
                 .Strings("stopwords", {"monday"})
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{1, 2}));
  EXPECT_EQ(Strings((*out)[0]),
            (std::vector<std::string>{"TUESDAY", "STRAßE"}));  // sharp s has no one-letter upper case
}

TEST(SpecialStringNormalizerTest, CaseSensitiveKeepsOtherCasesAndLowersUnicode) {
  auto out = Normalizer(Str({4}, {"Monday", "monday", "ÄRGER", "ΣΟΦΙΑ"}), 1)
                 .String("case_change_action", "LOWER")
                 .Int("is_case_sensitive", 1)
                 .Strings("stopwords", {"monday"})
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Strings((*out)[0]), (std::vector<std::string>{"monday", "ärger", "σοφια"}));
}

TEST(SpecialStringNormalizerTest, EverythingFilteredGivesOneEmptyString) {
  auto out = Normalizer(Str({2}, {"a", "A"}), 1).Strings("stopwords", {"a"}).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Strings((*out)[0]), (std::vector<std::string>{""}));
}

TEST(SpecialStringNormalizerTest, BadShapeInvalidUtf8AndBadActionAreRejected) {
  EXPECT_FALSE(Normalizer(Str({2, 2}, {"a", "b", "c", "d"}), 2).Run().ok());
  EXPECT_FALSE(Normalizer(Str({1}, {std::string("\xC3", 1)}), 1).String("case_change_action", "UPPER").Run().ok());
  EXPECT_FALSE(Normalizer(Str({1}, {"a"}), 1).String("case_change_action", "TITLE").Run().ok());
}

// --- TfIdfVectorizer ----------------------------------------------------------------------------------

// Pool: 1-grams {1, 2}, 2-grams {(1, 2), (2, 1)}, written to coordinates 3, 2, 1, 0.
SpecialNodeModel TfIdf(const Tensor& x, int out_rank, const std::string& mode, int64_t min_gram, int64_t max_skip,
                       bool with_pool = true) {
  SpecialNodeModel m("TfIdfVectorizer", 9);
  m.Input("x", x)
      .Output("y", out_rank)
      .String("mode", mode)
      .Int("min_gram_length", min_gram)
      .Int("max_gram_length", 2)
      .Int("max_skip_count", max_skip)
      .Ints("ngram_counts", {0, 2})
      .Ints("ngram_indexes", {3, 2, 1, 0});
  if (with_pool) m.Ints("pool_int64s", {1, 2, 1, 2, 2, 1});
  return m;
}

TEST(SpecialTfIdfTest, CountsUnigramsOnceAndBigramsPerSkip) {
  // Row [1, 2, 1, 3, 2]: 1 twice, 2 twice; bigrams with gap 0: (1,2), (2,1); gap 1: (1,1) no, (2,3) no,
  // (1,2) yes; gap 2: (1,3) no, (2,2) no; gap 3: (1,2) yes.
  auto out = TfIdf(I64({5}, {1, 2, 1, 3, 2}), 1, "TF", 1, 3).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectNear(Values((*out)[0]), {1, 3, 2, 2});
}

TEST(SpecialTfIdfTest, BatchedInt32WithWeightsAndBigramsOnly) {
  const Tensor x = Tensor::FromVector(DType::kInt32, {2, 3}, std::vector<int32_t>{1, 2, 1, 2, 2, 2});
  auto idf = TfIdf(x, 2, "IDF", 2, 0).Floats("weights", {0.5f, 2, 3, 4}).Run();
  auto tfidf = TfIdf(x, 2, "TFIDF", 1, 0).Floats("weights", {0.5f, 2, 3, 4}).Run();
  ASSERT_TRUE(idf.ok() && tfidf.ok()) << idf.status().message() << tfidf.status().message();
  ExpectNear(Values((*idf)[0]), {0.5, 2, 0, 0, 0, 0, 0, 0});
  ExpectNear(Values((*tfidf)[0]), {0.5, 2, 3, 8, 0, 0, 9, 0});
}

TEST(SpecialTfIdfTest, StringPool) {
  SpecialNodeModel m("TfIdfVectorizer", 9);
  m.Input("x", Str({4}, {"a", "b", "a", "c"}))
      .Output("y", 1)
      .String("mode", "TF")
      .Int("min_gram_length", 1)
      .Int("max_gram_length", 2)
      .Int("max_skip_count", 0)
      .Ints("ngram_counts", {0, 2})
      .Ints("ngram_indexes", {0, 1, 2})
      .Strings("pool_strings", {"a", "c", "b", "a"});
  auto out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectNear(Values((*out)[0]), {2, 1, 1});
}

TEST(SpecialTfIdfTest, MismatchedPoolAndInputAreRejected) {
  EXPECT_FALSE(TfIdf(Str({2}, {"1", "2"}), 1, "TF", 1, 0).Run().ok());     // strings against an int pool
  EXPECT_FALSE(TfIdf(I64({2}, {1, 2}), 1, "TF", 1, 0, false).Run().ok());  // no pool
  EXPECT_FALSE(
      TfIdf(I64({2}, {1, 2}), 1, "TF", 1, 0, false).Ints("pool_int64s", {1, 2, 1, 2, 2}).Run().ok());  // odd bigrams
  EXPECT_FALSE(
      TfIdf(I64({2}, {1, 2}), 1, "TF", 1, 0).Strings("pool_strings", {"a", "b", "a", "b", "b", "a"}).Run().ok());
  EXPECT_FALSE(TfIdf(I64({2}, {1, 2}), 1, "BM25", 1, 0).Run().ok());
}

// --- Training optimizers ------------------------------------------------------------------------------

TEST(SpecialTrainingTest, AdagradDecaysTheRateWithT) {
  auto out = SpecialNodeModel("Adagrad", 1, kTraining)
                 .Input("r", F32({}, {0.1f}))
                 .Input("t", I64({}, {2}))
                 .Input("x", F32({2}, {1, 2}))
                 .Input("g", F32({2}, {-1, 3}))
                 .Input("h", F32({2}, {2, 0}))
                 .Output("x_new", 1)
                 .Output("h_new", 1)
                 .Float("decay_factor", 0.5f)
                 .Float("epsilon", 0)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  const double r = 0.1 / (1 + 2 * 0.5);
  ExpectNear(Values((*out)[0]), {1 + r / std::sqrt(3.0), 2 - r * 3 / 3});
  ExpectNear(Values((*out)[1]), {3, 9});
}

TEST(SpecialTrainingTest, AdamBiasCorrectsForPositiveT) {
  auto out = SpecialNodeModel("Adam", 1, kTraining)
                 .Input("r", F32({}, {0.1f}))
                 .Input("t", I64({}, {3}))
                 .Input("x", F32({1}, {1}))
                 .Input("g", F32({1}, {2}))
                 .Input("v", F32({1}, {1}))
                 .Input("h", F32({1}, {4}))
                 .Output("x_new", 1)
                 .Output("v_new", 1)
                 .Output("h_new", 1)
                 .Float("alpha", 0.5f)
                 .Float("beta", 0.5f)
                 .Float("epsilon", 0)
                 .Float("norm_coefficient_post", 0.5f)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  const double v = 0.5 * 1 + 0.5 * 2, h = 0.5 * 4 + 0.5 * 4;
  const double r = 0.1 * std::sqrt(1 - 0.125) / (1 - 0.125);
  ExpectNear(Values((*out)[0]), {0.5 * (1 - r * v / std::sqrt(h))});
  ExpectNear(Values((*out)[1]), {v});
  ExpectNear(Values((*out)[2]), {h});
}

TEST(SpecialTrainingTest, MomentumStandardAndNesterovOverTwoTensors) {
  for (const char* mode : {"standard", "nesterov"}) {
    auto out = SpecialNodeModel("Momentum", 1, kTraining)
                   .Input("r", F32({}, {0.5f}))
                   .Input("t", I64({}, {1}))
                   .Input("x1", F32({1}, {1}))
                   .Input("x2", F32({2}, {2, 3}))
                   .Input("g1", F32({1}, {1}))
                   .Input("g2", F32({2}, {-1, 0}))
                   .Input("v1", F32({1}, {2}))
                   .Input("v2", F32({2}, {0, 4}))
                   .Output("x1_new", 1)
                   .Output("x2_new", 1)
                   .Output("v1_new", 1)
                   .Output("v2_new", 1)
                   .Float("alpha", 0.5f)
                   .Float("beta", 2)
                   .Float("norm_coefficient", 0)
                   .String("mode", mode)
                   .Run();
    ASSERT_TRUE(out.ok()) << mode << ": " << out.status().message();
    // v_new = 0.5 v + 2 g
    ExpectNear(Values((*out)[2]), {3});
    ExpectNear(Values((*out)[3]), {-2, 2});
    if (std::string(mode) == "standard") {
      ExpectNear(Values((*out)[0]), {1 - 0.5 * 3});
      ExpectNear(Values((*out)[1]), {2 + 1, 3 - 1});
    } else {
      ExpectNear(Values((*out)[0]), {1 - 0.5 * (1 + 0.5 * 3)});
      ExpectNear(Values((*out)[1]), {2 - 0.5 * (-1 - 1), 3 - 0.5 * (0 + 1)});
    }
  }
}

TEST(SpecialTrainingTest, MismatchedShapesAndMissingAttributesAreRejected) {
  auto mismatched = SpecialNodeModel("Adagrad", 1, kTraining)
                        .Input("r", F32({}, {0.1f}))
                        .Input("t", I64({}, {0}))
                        .Input("x", F32({2}, {1, 2}))
                        .Input("g", F32({1}, {1}))
                        .Input("h", F32({2}, {1, 1}))
                        .Output("x_new", 1)
                        .Output("h_new", 1)
                        .Run();
  EXPECT_FALSE(mismatched.ok());
  auto no_mode = SpecialNodeModel("Momentum", 1, kTraining)
                     .Input("r", F32({}, {0.1f}))
                     .Input("t", I64({}, {0}))
                     .Input("x", F32({1}, {1}))
                     .Input("g", F32({1}, {1}))
                     .Input("v", F32({1}, {1}))
                     .Output("x_new", 1)
                     .Output("v_new", 1)
                     .Float("alpha", 0.5f)
                     .Float("beta", 1)
                     .Float("norm_coefficient", 0)
                     .Run();
  EXPECT_FALSE(no_mode.ok());
  auto wrong_count = SpecialNodeModel("Adam", 1, kTraining)
                         .Input("r", F32({}, {0.1f}))
                         .Input("t", I64({}, {0}))
                         .Input("x", F32({1}, {1}))
                         .Input("g", F32({1}, {1}))
                         .Input("v", F32({1}, {1}))
                         .Output("x_new", 1)
                         .Run();
  EXPECT_FALSE(wrong_count.ok());
}

}  // namespace
}  // namespace tessera
