// Pooling kernels against a bounds-checked test-side reference over seeded random windows (MaxPool with
// Indices in both storage orders, AveragePool with and without counting pads, LpPool), hand-checked
// global, int8, RoI and unpooling cases, and invalid inputs that must fail naming shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "ops/cpu/pool/pool_dnnl.h"
#include "ops/cpu/pool/pool_window.h"
#include "testing/one_node_model.h"

namespace tessera {
namespace {

using testing::OneNodeModel;

struct RandomPool {
  std::string op;
  Shape x_shape;  // [N, C, spatial...]
  std::vector<int64_t> kernel, stride, dilation, pad_begin, pad_end, out;
  bool ceil_mode = false, count_include_pad = false, column_major = false, with_indices = false;
  int64_t p = 2;
};

// Naive pooling with a bounds check per tap. Returns values and (for MaxPool) flat argmax indices.
void ReferencePool(const RandomPool& r, const std::vector<float>& x, std::vector<double>& y,
                   std::vector<int64_t>& idx) {
  const size_t rank = r.kernel.size();
  std::vector<int64_t> in(r.x_shape.begin() + 2, r.x_shape.end());
  auto pad3 = [&](const std::vector<int64_t>& v, int64_t fill) {
    std::vector<int64_t> o(3 - rank, fill);
    o.insert(o.end(), v.begin(), v.end());
    return o;
  };
  const auto I = pad3(in, 1), O = pad3(r.out, 1), K = pad3(r.kernel, 1), S = pad3(r.stride, 1), D = pad3(r.dilation, 1),
             P = pad3(r.pad_begin, 0), E = pad3(r.pad_end, 0);
  const int64_t planes = r.x_shape[0] * r.x_shape[1], in_count = I[0] * I[1] * I[2];
  for (int64_t pl = 0; pl < planes; ++pl) {
    for (int64_t a = 0; a < O[0]; ++a)
      for (int64_t b = 0; b < O[1]; ++b)
        for (int64_t c = 0; c < O[2]; ++c) {
          double best = -INFINITY, sum = 0;
          int64_t arg = -1, count = 0, padded_count = 0;
          for (int64_t i = 0; i < K[0]; ++i)
            for (int64_t j = 0; j < K[1]; ++j)
              for (int64_t k = 0; k < K[2]; ++k) {
                const int64_t u = a * S[0] - P[0] + i * D[0], v = b * S[1] - P[1] + j * D[1],
                              w = c * S[2] - P[2] + k * D[2];
                if (u >= -P[0] && u < I[0] + E[0] && v >= -P[1] && v < I[1] + E[1] && w >= -P[2] && w < I[2] + E[2])
                  ++padded_count;
                if (u < 0 || u >= I[0] || v < 0 || v >= I[1] || w < 0 || w >= I[2]) continue;
                const double val = x[static_cast<size_t>(pl * in_count + (u * I[1] + v) * I[2] + w)];
                ++count;
                sum += r.op == "LpPool" ? std::pow(std::fabs(val), static_cast<double>(r.p)) : val;
                if (val > best)
                  best = val, arg = r.column_major ? u + I[0] * (v + I[1] * w) : (u * I[1] + v) * I[2] + w;
              }
          if (r.op == "MaxPool")
            y.push_back(best), idx.push_back(pl * in_count + arg);
          else if (r.op == "AveragePool")
            y.push_back(sum / static_cast<double>(r.count_include_pad ? padded_count : count));
          else
            y.push_back(std::pow(sum, 1.0 / static_cast<double>(r.p)));
        }
  }
}

RandomPool MakeRandomPool(std::mt19937& rng) {
  static const char* ops[] = {"MaxPool", "AveragePool", "LpPool"};
  RandomPool r;
  r.op = ops[rng() % 3];
  const int rank = 1 + static_cast<int>(rng() % 3);
  r.x_shape = {static_cast<int64_t>(1 + rng() % 2), static_cast<int64_t>(1 + rng() % 3)};
  r.ceil_mode = r.op != "LpPool" && rng() % 2;
  r.count_include_pad = rng() % 2;
  r.column_major = rng() % 2;
  r.with_indices = r.op == "MaxPool" && rng() % 2;  // without Indices, float32 MaxPool runs in oneDNN
  r.p = 1 + static_cast<int64_t>(rng() % 3);
  for (int i = 0; i < rank; ++i) {
    const int64_t k = 1 + rng() % 3, s = 1 + rng() % 3, d = r.op == "MaxPool" ? 1 + rng() % 2 : 1;
    const int64_t dk = (k - 1) * d + 1;
    r.kernel.push_back(k), r.stride.push_back(s), r.dilation.push_back(d);
    // Pads smaller than the kernel, as the spec requires.
    r.pad_begin.push_back(static_cast<int64_t>(rng() % static_cast<unsigned>(k)));
    r.pad_end.push_back(static_cast<int64_t>(rng() % static_cast<unsigned>(k)));
    const int64_t in = dk + static_cast<int64_t>(rng() % (rank == 3 ? 4 : 9));
    r.x_shape.push_back(in);
    const int64_t span = in + r.pad_begin.back() + r.pad_end.back() - dk;
    int64_t out = (r.ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (r.ceil_mode && (out - 1) * s >= in + r.pad_begin.back()) --out;
    r.out.push_back(out);
  }
  return r;
}

TEST(PoolTest, RandomWindowsMatchReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-5.0f, 5.0f);
  for (int trial = 0; trial < 60; ++trial) {
    const RandomPool r = MakeRandomPool(rng);
    std::vector<float> x(static_cast<size_t>(ShapeElementCount(r.x_shape)));
    for (float& v : x) v = dist(rng);
    std::vector<int64_t> pads = r.pad_begin;
    pads.insert(pads.end(), r.pad_end.begin(), r.pad_end.end());
    const int rank = static_cast<int>(r.x_shape.size());
    OneNodeModel m(r.op, r.op == "MaxPool" ? 12 : 11);
    m.Input("x", Tensor::FromVector(DType::kFloat32, r.x_shape, x)).Output("y", rank);
    if (r.op == "MaxPool") {
      if (r.with_indices) m.Output("indices", rank, DType::kInt64);
      m.Ints("dilations", r.dilation).Int("storage_order", r.column_major);
    }
    if (r.op == "AveragePool") m.Int("count_include_pad", r.count_include_pad);
    if (r.op == "LpPool")
      m.Int("p", r.p);
    else
      m.Int("ceil_mode", r.ceil_mode);
    auto out = m.Ints("kernel_shape", r.kernel).Ints("strides", r.stride).Ints("pads", pads).Run();
    ASSERT_TRUE(out.ok()) << out.status().message();
    std::vector<double> want;
    std::vector<int64_t> want_idx;
    ReferencePool(r, x, want, want_idx);
    const std::string what = r.op + " X " + ShapeToString(r.x_shape) + " kernel " + ShapeToString(r.kernel) +
                             " strides " + ShapeToString(r.stride) + " dilations " + ShapeToString(r.dilation) +
                             " pads " + ShapeToString(pads) + " ceil " + std::to_string(r.ceil_mode);
    ASSERT_EQ((*out)[0].element_count(), static_cast<int64_t>(want.size()))
        << what << " got " << ShapeToString((*out)[0].shape());
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_NEAR((*out)[0].data<float>()[i], want[i], 1e-4 * (1 + std::fabs(want[i]))) << what << " at " << i;
      if (r.with_indices) {
        ASSERT_EQ((*out)[1].data<int64_t>()[i], want_idx[i]) << what << " index at " << i;
      }
    }
  }
}

// DnnlPool directly against the window loops: oneDNN must take every undilated float32 MaxPool and
// AveragePool except AveragePool counting pads with a ceil_mode overhang.
TEST(PoolTest, OneDnnTakesMaxAndAverageAndMatchesLoops) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-5.0f, 5.0f);
  ThreadPool pool(1);
  for (int trial = 0; trial < 60; ++trial) {
    RandomPool r = MakeRandomPool(rng);
    if (r.op == "LpPool") continue;
    const bool max = r.op == "MaxPool";
    WindowGeometry g;
    g.rank = static_cast<int64_t>(r.kernel.size());
    g.in.assign(r.x_shape.begin() + 2, r.x_shape.end());
    g.kernel = r.kernel, g.stride = r.stride, g.dilation = r.dilation;
    g.pad_begin = r.pad_begin, g.pad_end = r.pad_end, g.out = r.out;
    std::vector<float> x(static_cast<size_t>(ShapeElementCount(r.x_shape)));
    for (float& v : x) v = dist(rng);
    const PoolProblem p = MakePoolProblem(g, r.x_shape[0] * r.x_shape[1]);
    std::vector<float> want(static_cast<size_t>(p.planes * p.OutCount())), got(want.size(), NAN);
    if (max)
      MaxPoolPlanes<float>(p, x.data(), want.data(), nullptr, false, pool);
    else
      AveragePoolPlanes<float>(p, x.data(), want.data(), r.count_include_pad, pool);
    DnnlPool dnnl(max, r.count_include_pad);
    auto done = dnnl.Run(g, r.x_shape, x.data(), got.data());
    ASSERT_TRUE(done.ok()) << done.status().message();
    bool overhang = false;
    for (size_t i = 0; i < r.kernel.size(); ++i) {
      overhang |= (r.out[i] - 1) * r.stride[i] + (r.kernel[i] - 1) * r.dilation[i] + 1 >
                  g.in[i] + r.pad_begin[i] + r.pad_end[i];
    }
    const std::string what = r.op + " X " + ShapeToString(r.x_shape) + " kernel " + ShapeToString(r.kernel) +
                             " strides " + ShapeToString(r.stride) + " dilations " + ShapeToString(r.dilation) +
                             " pads " + ShapeToString(r.pad_begin) + "+" + ShapeToString(r.pad_end) + " ceil " +
                             std::to_string(r.ceil_mode) + " count_include_pad " + std::to_string(r.count_include_pad);
    if (!max && r.count_include_pad && overhang) {
      EXPECT_FALSE(*done) << what;
      continue;
    }
    // oneDNN 2.6 has only reference code for dilated pooling, which DnnlPool declines.
    bool dilated = false;
    for (int64_t d : r.dilation) dilated |= d > 1;
    if (dilated && !*done) continue;
    ASSERT_TRUE(*done) << "oneDNN declined " << what;
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_NEAR(got[i], want[i], 1e-5 * (1 + std::fabs(want[i]))) << what << " at " << i;
  }
}

TEST(PoolTest, MaxPoolInt8AndUint8) {
  auto out = OneNodeModel("MaxPool", 12)
                 .Input("x", Tensor::FromVector(DType::kInt8, {1, 1, 4}, std::vector<int8_t>{-128, -5, 7, -1}))
                 .Output("y", 3, DType::kInt8)
                 .Ints("kernel_shape", {2})
                 .Ints("pads", {1, 0})
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  const int8_t want[] = {-128, -5, 7, 7};
  for (int i = 0; i < 4; ++i) EXPECT_EQ((*out)[0].data<int8_t>()[i], want[i]);
  auto u8 = OneNodeModel("MaxPool", 12)
                .Input("x", Tensor::FromVector(DType::kUInt8, {1, 1, 3}, std::vector<uint8_t>{200, 255, 3}))
                .Output("y", 3, DType::kUInt8)
                .Ints("kernel_shape", {2})
                .Run();
  ASSERT_TRUE(u8.ok()) << u8.status().message();
  EXPECT_EQ((*u8)[0].data<uint8_t>()[0], 255);
  EXPECT_EQ((*u8)[0].data<uint8_t>()[1], 255);
}

TEST(PoolTest, GlobalPoolsReduceEverySpatialDim) {
  std::vector<double> x = {1, -2, 3, 4, 5, -6, 7, 8};  // [1, 2, 2, 2]
  Tensor t = Tensor::FromVector(DType::kFloat64, {1, 2, 2, 2}, x);
  auto avg = OneNodeModel("GlobalAveragePool", 1).Input("x", t).Output("y", 4, DType::kFloat64).Run();
  auto max = OneNodeModel("GlobalMaxPool", 1).Input("x", t).Output("y", 4, DType::kFloat64).Run();
  auto lp = OneNodeModel("GlobalLpPool", 2).Input("x", t).Output("y", 4, DType::kFloat64).Int("p", 1).Run();
  ASSERT_TRUE(avg.ok() && max.ok() && lp.ok());
  EXPECT_EQ((*avg)[0].shape(), (Shape{1, 2, 1, 1}));
  EXPECT_DOUBLE_EQ((*avg)[0].data<double>()[0], 1.5);
  EXPECT_DOUBLE_EQ((*avg)[0].data<double>()[1], 3.5);
  EXPECT_DOUBLE_EQ((*max)[0].data<double>()[0], 4);
  EXPECT_DOUBLE_EQ((*max)[0].data<double>()[1], 8);
  EXPECT_DOUBLE_EQ((*lp)[0].data<double>()[0], 10);
  EXPECT_DOUBLE_EQ((*lp)[0].data<double>()[1], 26);
}

// float32 GlobalAveragePool (its own vectorized loop) against double sums, over plane sizes below, at and
// past its 16-wide blocks and many planes (the parallel split).
TEST(PoolTest, Float32GlobalAverageMatchesDoubleSums) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (const Shape& shape : {Shape{1, 3, 1, 5}, Shape{2, 5, 4, 4}, Shape{1, 7, 9, 7}, Shape{2, 40, 80, 80}}) {
    std::vector<float> x(static_cast<size_t>(ShapeElementCount(shape)));
    for (float& v : x) v = dist(rng);
    auto out = OneNodeModel("GlobalAveragePool", 1)
                   .Input("x", Tensor::FromVector(DType::kFloat32, shape, x))
                   .Output("y", 4)
                   .Run();
    ASSERT_TRUE(out.ok()) << out.status().message();
    const int64_t planes = shape[0] * shape[1], spatial = shape[2] * shape[3];
    for (int64_t p = 0; p < planes; ++p) {
      double sum = 0;
      for (int64_t i = 0; i < spatial; ++i) sum += x[static_cast<size_t>(p * spatial + i)];
      ASSERT_NEAR((*out)[0].data<float>()[p], sum / spatial, 1e-5) << ShapeToString(shape) << " plane " << p;
    }
  }
}

TEST(PoolTest, LpPoolOpset1ReadsFloatP) {
  auto out = OneNodeModel("LpPool", 1)
                 .Input("x", Tensor::FromVector(DType::kFloat32, {1, 1, 2}, std::vector<float>{3, -4}))
                 .Output("y", 3)
                 .Ints("kernel_shape", {2})
                 .Float("p", 2.0f)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_FLOAT_EQ((*out)[0].data<float>()[0], 5.0f);
}

TEST(PoolTest, MaxRoiPoolSplitsRegionIntoBins) {
  std::vector<float> x(16);
  for (int i = 0; i < 16; ++i) x[static_cast<size_t>(i)] = static_cast<float>(i);  // [1, 1, 4, 4]
  // Region x 0..3, y 0..1 (inclusive corners) pooled into 1x2: left half max 5, right half max 7.
  auto out = OneNodeModel("MaxRoiPool", 1)
                 .Input("x", Tensor::FromVector(DType::kFloat32, {1, 1, 4, 4}, x))
                 .Input("rois", Tensor::FromVector(DType::kFloat32, {1, 5}, std::vector<float>{0, 0, 0, 3, 1}))
                 .Output("y", 4)
                 .Ints("pooled_shape", {1, 2})
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{1, 1, 1, 2}));
  EXPECT_FLOAT_EQ((*out)[0].data<float>()[0], 5);
  EXPECT_FLOAT_EQ((*out)[0].data<float>()[1], 7);
  auto bad = OneNodeModel("MaxRoiPool", 1)
                 .Input("x", Tensor::FromVector(DType::kFloat32, {1, 1, 4, 4}, x))
                 .Input("rois", Tensor::FromVector(DType::kFloat32, {1, 5}, std::vector<float>{3, 0, 0, 3, 1}))
                 .Output("y", 4)
                 .Ints("pooled_shape", {1, 2})
                 .Run();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("[1,1,4,4]"), std::string::npos) << bad.status().message();
}

TEST(PoolTest, MaxUnpoolScattersAndRejectsBadIndices) {
  auto out = OneNodeModel("MaxUnpool", 11)
                 .Input("x", Tensor::FromVector(DType::kFloat32, {1, 1, 2}, std::vector<float>{5, 6}))
                 .Input("i", Tensor::FromVector(DType::kInt64, {1, 1, 2}, std::vector<int64_t>{1, 2}))
                 .Output("y", 3)
                 .Ints("kernel_shape", {2})
                 .Ints("strides", {2})
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{1, 1, 4}));
  const float want[] = {0, 5, 6, 0};
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ((*out)[0].data<float>()[i], want[i]);
  auto bad = OneNodeModel("MaxUnpool", 11)
                 .Input("x", Tensor::FromVector(DType::kFloat32, {1, 1, 2}, std::vector<float>{5, 6}))
                 .Input("i", Tensor::FromVector(DType::kInt64, {1, 1, 2}, std::vector<int64_t>{1, 9}))
                 .Output("y", 3)
                 .Ints("kernel_shape", {2})
                 .Ints("strides", {2})
                 .Run();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("index 9"), std::string::npos) << bad.status().message();
}

// Regression: with a larger output_shape, indices refer to the inferred (unpadded) output's coordinates,
// not to flat positions of the larger output (ONNX's maxunpool_export_with_output_shape).
TEST(PoolTest, MaxUnpoolOutputShapeKeepsCoordinates) {
  auto out = OneNodeModel("MaxUnpool", 11)
                 .Input("x", Tensor::FromVector(DType::kFloat32, {1, 1, 1, 1}, std::vector<float>{5}))
                 .Input("i", Tensor::FromVector(DType::kInt64, {1, 1, 1, 1}, std::vector<int64_t>{3}))
                 .Input("shape", Tensor::FromVector(DType::kInt64, {4}, std::vector<int64_t>{1, 1, 3, 3}))
                 .Output("y", 4)
                 .Ints("kernel_shape", {2, 2})
                 .Ints("strides", {2, 2})
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ((*out)[0].shape(), (Shape{1, 1, 3, 3}));
  // Index 3 of the inferred 2x2 output is (1, 1), which is flat 4 of the 3x3 output.
  for (int i = 0; i < 9; ++i) EXPECT_FLOAT_EQ((*out)[0].data<float>()[i], i == 4 ? 5.0f : 0.0f) << i;
}

TEST(PoolTest, KernelLargerThanPaddedInputNamesShapes) {
  auto out = OneNodeModel("AveragePool", 11)
                 .Input("x", Tensor::FromVector(DType::kFloat32, {1, 1, 2, 2}, std::vector<float>(4, 1.0f)))
                 .Output("y", 4)
                 .Ints("kernel_shape", {3, 3})
                 .Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("[1,1,2,2]"), std::string::npos) << out.status().message();
}

TEST(PoolTest, MissingKernelShapeFailsAtLoad) {
  auto out = OneNodeModel("MaxPool", 12)
                 .Input("x", Tensor::FromVector(DType::kFloat32, {1, 1, 2, 2}, std::vector<float>(4, 1.0f)))
                 .Output("y", 4)
                 .Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("kernel_shape"), std::string::npos) << out.status().message();
}

TEST(PoolTest, EmptyBatchGivesEmptyOutput) {
  auto out = OneNodeModel("MaxPool", 12)
                 .Input("x", Tensor::FromVector(DType::kFloat32, {0, 3, 4, 4}, std::vector<float>{}))
                 .Output("y", 4)
                 .Ints("kernel_shape", {2, 2})
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{0, 3, 3, 3}));
}

}  // namespace
}  // namespace tessera
