// Conv and ConvTranspose: the oneDNN float32 path (constant and runtime weights, several batch sizes
// through one session) and float16 (run in float32) against the double-precision reference loops over
// seeded random problems; hand-checked float32/float64/float16 values; invalid inputs that must fail
// naming shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>

#include "core/half.h"
#include "ops/cpu/conv/conv_dnnl.h"
#include "ops/cpu/conv/conv_reference.h"
#include "testing/one_node_model.h"
#include "tessera/session.h"
#include "testing/onnx_builder.h"

namespace tessera {
namespace {

using testing::OneNodeModel;
using testing::OnnxBuilder;

// One random convolution: shapes, window and data. `out` follows the explicit pads (no auto_pad).
struct RandomConv {
  bool transpose = false;
  int64_t batch = 1, in_c = 1, out_c = 1, group = 1;
  std::vector<int64_t> in, kernel, stride, dilation, pad_begin, pad_end, output_padding, out;
  std::vector<float> w, b;

  Shape XShape(int64_t n) const {
    Shape s = {n, in_c};
    s.insert(s.end(), in.begin(), in.end());
    return s;
  }
  Shape WShape() const {
    Shape s = transpose ? Shape{in_c, out_c / group} : Shape{out_c, in_c / group};
    s.insert(s.end(), kernel.begin(), kernel.end());
    return s;
  }
  std::vector<int64_t> Pads() const {
    std::vector<int64_t> p = pad_begin;
    p.insert(p.end(), pad_end.begin(), pad_end.end());
    return p;
  }
};

RandomConv MakeRandomConv(std::mt19937& rng, bool transpose) {
  RandomConv c;
  c.transpose = transpose;
  const int rank = 1 + static_cast<int>(rng() % 3);
  c.batch = 1 + rng() % 2;
  if (rng() % 4 == 0) {  // depthwise
    c.group = c.in_c = c.out_c = 3 + rng() % 14;
  } else {
    c.group = 1 + rng() % 3;
    c.in_c = c.group * (1 + rng() % 4);
    c.out_c = c.group * (1 + rng() % 4);
  }
  for (int i = 0; i < rank; ++i) {
    const int64_t k = 1 + rng() % 3, s = 1 + rng() % 2, d = 1 + rng() % 2, dk = (k - 1) * d + 1;
    c.kernel.push_back(k);
    c.stride.push_back(s);
    c.dilation.push_back(d);
    c.pad_begin.push_back(static_cast<int64_t>(rng() % static_cast<unsigned>(dk)));
    c.pad_end.push_back(static_cast<int64_t>(rng() % static_cast<unsigned>(dk)));
    // Keep 3-D problems small: the double reference is slow.
    c.in.push_back(rank == 3 ? 1 + rng() % 5 : 2 + rng() % 9);
    if (transpose) {
      c.output_padding.push_back(static_cast<int64_t>(rng() % static_cast<unsigned>(std::max(s, d))));
      c.out.push_back(s * (c.in.back() - 1) + c.output_padding.back() + dk - c.pad_begin.back() - c.pad_end.back());
      if (c.out.back() < 1)
        c.pad_begin.back() = c.pad_end.back() = 0, c.out.back() = s * (c.in.back() - 1) + c.output_padding.back() + dk;
    } else {
      if (c.in.back() + c.pad_begin.back() + c.pad_end.back() < dk) c.in.back() = dk;
      c.out.push_back((c.in.back() + c.pad_begin.back() + c.pad_end.back() - dk) / s + 1);
    }
  }
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  c.w.resize(static_cast<size_t>(ShapeElementCount(c.WShape())));
  for (float& v : c.w) v = dist(rng);
  if (rng() % 2) {
    c.b.resize(static_cast<size_t>(c.out_c));
    for (float& v : c.b) v = dist(rng);
  }
  return c;
}

// The double-precision reference output for `x`.
std::vector<double> Reference(const RandomConv& c, const std::vector<float>& x, int64_t batch) {
  WindowGeometry g;
  g.rank = static_cast<int64_t>(c.in.size());
  g.in = c.in, g.kernel = c.kernel, g.stride = c.stride, g.dilation = c.dilation;
  g.pad_begin = c.pad_begin, g.pad_end = c.pad_end, g.out = c.out;
  const ConvProblem p = MakeConvProblem(g, batch, c.in_c, c.out_c, c.group);
  std::vector<double> xd(x.begin(), x.end()), wd(c.w.begin(), c.w.end()), bd(c.b.begin(), c.b.end());
  std::vector<double> y(static_cast<size_t>(batch * c.out_c * p.OutCount()));
  ThreadPool pool(1);
  if (c.transpose)
    ConvTransposeReference<double>(p, xd.data(), wd.data(), bd.empty() ? nullptr : bd.data(), y.data(), pool);
  else
    ConvReference<double>(p, xd.data(), wd.data(), bd.empty() ? nullptr : bd.data(), y.data(), pool);
  return y;
}

// A session for `c` with a symbolic batch; W and B are initializers (packed once) or graph inputs.
std::unique_ptr<Session> LoadConv(const RandomConv& c, bool constant_weights) {
  OnnxBuilder b(11);
  Shape x_dims = c.XShape(-1);
  b.Input("x", DType::kFloat32, x_dims);
  std::vector<std::string> inputs = {"x", "w"};
  if (constant_weights)
    b.Initializer("w", c.w, c.WShape());
  else
    b.Input("w", DType::kFloat32, c.WShape());
  if (!c.b.empty()) {
    inputs.push_back("b");
    if (constant_weights)
      b.Initializer("b", c.b, {c.out_c});
    else
      b.Input("b", DType::kFloat32, {c.out_c});
  }
  auto& node = b.Node(c.transpose ? "ConvTranspose" : "Conv", inputs, {"y"});
  OnnxBuilder::IntAttribute(node, "group", c.group);
  OnnxBuilder::IntsAttribute(node, "kernel_shape", c.kernel);
  OnnxBuilder::IntsAttribute(node, "strides", c.stride);
  OnnxBuilder::IntsAttribute(node, "dilations", c.dilation);
  OnnxBuilder::IntsAttribute(node, "pads", c.Pads());
  if (c.transpose) OnnxBuilder::IntsAttribute(node, "output_padding", c.output_padding);
  Shape y_dims(x_dims.size(), -1);
  b.Output("y", DType::kFloat32, y_dims);
  SessionOptions options;
  options.threads = 2;
  auto session = Session::Load(b.WriteTemp(), options);
  EXPECT_TRUE(session.ok()) << session.status().message();
  return session.ok() ? std::move(*session) : nullptr;
}

void CheckRandomConvs(bool transpose) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int trial = 0; trial < 20; ++trial) {
    const RandomConv c = MakeRandomConv(rng, transpose);
    const bool constant = trial % 2 == 0;
    auto session = LoadConv(c, constant);
    ASSERT_NE(session, nullptr);
    // Two batch sizes through one session: the primitive cache is keyed by shape.
    for (int64_t batch : {c.batch, c.batch + 1}) {
      std::vector<float> x(static_cast<size_t>(ShapeElementCount(c.XShape(batch))));
      for (float& v : x) v = dist(rng);
      std::vector<std::pair<std::string, Tensor>> feeds = {
          {"x", Tensor::FromVector(DType::kFloat32, c.XShape(batch), x)}};
      if (!constant) {
        feeds.emplace_back("w", Tensor::FromVector(DType::kFloat32, c.WShape(), c.w));
        if (!c.b.empty()) feeds.emplace_back("b", Tensor::FromVector(DType::kFloat32, {c.out_c}, c.b));
      }
      auto out = session->Run(feeds);
      ASSERT_TRUE(out.ok()) << out.status().message();
      const std::vector<double> want = Reference(c, x, batch);
      ASSERT_EQ((*out)[0].element_count(), static_cast<int64_t>(want.size()))
          << "X " << ShapeToString(c.XShape(batch)) << " W " << ShapeToString(c.WShape()) << " got "
          << ShapeToString((*out)[0].shape());
      for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_NEAR((*out)[0].data<float>()[i], want[i], 1e-4 * (1 + std::fabs(want[i])))
            << "trial " << trial << " X " << ShapeToString(c.XShape(batch)) << " W " << ShapeToString(c.WShape())
            << " group " << c.group << " strides " << ShapeToString(c.stride) << " dilations "
            << ShapeToString(c.dilation) << " pads " << ShapeToString(c.Pads()) << " at " << i;
      }
    }
  }
}

TEST(ConvTest, RandomFloat32ProblemsMatchReference) { CheckRandomConvs(false); }

TEST(ConvTest, RandomFloat32TransposeProblemsMatchReference) { CheckRandomConvs(true); }

// A 2x2 ConvTranspose whose output passes 4 MB (16 x 300 x 300 floats, 5.8 MB) writes around the cache with
// streaming stores: the result still matches the double reference everywhere, the row tails included.
TEST(ConvTest, LargeNonOverlappingTransposeMatchesReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  RandomConv c;
  c.transpose = true;
  c.batch = 1;
  c.in_c = 3;
  c.out_c = 16;
  for (int i = 0; i < 2; ++i) {
    c.kernel.push_back(2), c.stride.push_back(2), c.dilation.push_back(1);
    c.pad_begin.push_back(0), c.pad_end.push_back(0), c.output_padding.push_back(0);
    c.in.push_back(150);  // 2 x 64 + 16 columns and a masked tail of 6
    c.out.push_back(300);
  }
  c.w.resize(static_cast<size_t>(ShapeElementCount(c.WShape())));
  for (float& v : c.w) v = dist(rng);
  c.b.resize(static_cast<size_t>(c.out_c));
  for (float& v : c.b) v = dist(rng);
  auto session = LoadConv(c, true);
  ASSERT_NE(session, nullptr);
  std::vector<float> x(static_cast<size_t>(ShapeElementCount(c.XShape(1))));
  for (float& v : x) v = dist(rng);
  auto out = session->Run({{"x", Tensor::FromVector(DType::kFloat32, c.XShape(1), x)}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  const std::vector<double> want = Reference(c, x, 1);
  ASSERT_EQ((*out)[0].element_count(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR((*out)[0].data<float>()[i], want[i], 1e-4 * (1 + std::fabs(want[i]))) << "at " << i;
}

// ConvTranspose with kernel == stride, no pads (DBNet's upsampling head) runs on its own patch kernel with
// constant weights; random channel counts, kernels 1-3 per axis (non-square too; width 2 has its own
// path), with and without bias, against the double reference, with constant and runtime weights.
TEST(ConvTest, NonOverlappingTransposeMatchesReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int trial = 0; trial < 12; ++trial) {
    RandomConv c;
    c.transpose = true;
    c.batch = 1 + rng() % 2;
    c.in_c = 1 + rng() % 20;
    c.out_c = 1 + rng() % 20;
    for (int i = 0; i < 2; ++i) {
      const int64_t k = 1 + rng() % 3;
      c.kernel.push_back(k), c.stride.push_back(k), c.dilation.push_back(1);
      c.pad_begin.push_back(0), c.pad_end.push_back(0), c.output_padding.push_back(0);
      c.in.push_back(1 + rng() % (i == 1 ? 40 : 12));  // widths past 16 and 32: the blocked columns and a tail
      c.out.push_back(c.in.back() * k);
    }
    c.w.resize(static_cast<size_t>(ShapeElementCount(c.WShape())));
    for (float& v : c.w) v = dist(rng);
    if (trial % 3 != 0) {
      c.b.resize(static_cast<size_t>(c.out_c));
      for (float& v : c.b) v = dist(rng);
    }
    const bool constant = trial % 4 != 3;
    auto session = LoadConv(c, constant);
    ASSERT_NE(session, nullptr);
    for (int64_t batch : {c.batch, c.batch + 1}) {
      std::vector<float> x(static_cast<size_t>(ShapeElementCount(c.XShape(batch))));
      for (float& v : x) v = dist(rng);
      std::vector<std::pair<std::string, Tensor>> feeds = {
          {"x", Tensor::FromVector(DType::kFloat32, c.XShape(batch), x)}};
      if (!constant) {
        feeds.emplace_back("w", Tensor::FromVector(DType::kFloat32, c.WShape(), c.w));
        if (!c.b.empty()) feeds.emplace_back("b", Tensor::FromVector(DType::kFloat32, {c.out_c}, c.b));
      }
      auto out = session->Run(feeds);
      ASSERT_TRUE(out.ok()) << out.status().message();
      const std::vector<double> want = Reference(c, x, batch);
      ASSERT_EQ((*out)[0].element_count(), static_cast<int64_t>(want.size()));
      for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_NEAR((*out)[0].data<float>()[i], want[i], 1e-4 * (1 + std::fabs(want[i])))
            << "trial " << trial << " X " << ShapeToString(c.XShape(batch)) << " W " << ShapeToString(c.WShape())
            << (constant ? " constant" : " runtime") << " weights, at " << i;
      }
    }
  }
}

// DnnlConv directly: every 1-D/2-D float32 problem must be taken by oneDNN (not fall back), with
// runtime or constant (packed once) weights, and match the reference.
TEST(ConvTest, OneDnnTakesCommonProblemsAndMatchesReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int trial = 0; trial < 60; ++trial) {
    const bool transpose = trial % 3 == 2;
    RandomConv c = MakeRandomConv(rng, transpose);
    if (c.in.size() == 3) continue;
    Tensor w = Tensor::FromVector(DType::kFloat32, c.WShape(), c.w);
    DnnlConv conv(transpose, c.group, trial % 2 ? w : Tensor());
    WindowGeometry g;
    g.rank = static_cast<int64_t>(c.in.size());
    g.in = c.in, g.kernel = c.kernel, g.stride = c.stride, g.dilation = c.dilation;
    g.pad_begin = c.pad_begin, g.pad_end = c.pad_end, g.out = c.out;
    std::vector<float> x(static_cast<size_t>(ShapeElementCount(c.XShape(c.batch))));
    for (float& v : x) v = dist(rng);
    const std::vector<double> want = Reference(c, x, c.batch);
    std::vector<float> y(want.size(), NAN);
    auto done = conv.Run(g, c.XShape(c.batch), c.WShape(), c.out_c, x.data(), c.w.data(),
                         c.b.empty() ? nullptr : c.b.data(), y.data());
    ASSERT_TRUE(done.ok()) << done.status().message();
    ASSERT_TRUE(*done) << (transpose ? "ConvTranspose" : "Conv") << " group " << c.group << " strides "
                       << ShapeToString(c.stride) << " dilations " << ShapeToString(c.dilation) << " pads "
                       << ShapeToString(c.Pads()) << ": oneDNN offered " << conv.last_impl() << " for X "
                       << ShapeToString(c.XShape(c.batch)) << " W " << ShapeToString(c.WShape());
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_NEAR(y[i], want[i], 1e-4 * (1 + std::fabs(want[i])))
          << (transpose ? "ConvTranspose" : "Conv") << " with " << conv.last_impl() << ": X "
          << ShapeToString(c.XShape(c.batch)) << " W " << ShapeToString(c.WShape()) << " group " << c.group
          << " strides " << ShapeToString(c.stride) << " dilations " << ShapeToString(c.dilation) << " pads "
          << ShapeToString(c.Pads()) << " at " << i;
    }
  }
}

// A 3x3, stride-1 convolution with many channels takes oneDNN's Winograd kernel, at the boundaries the
// layout pass gives it (NHWC, or nChw16c between 1x1 and Winograd neighbours) with ReLU and with a
// residual sum (ResNet-18's basic blocks; also accumulated in place), and matches the reference to the
// direct kernel's tolerance. It keeps the original weights (nothing repacks out of Winograd's layout), so
// a later shape still runs; TESSERA_CONV_WINOGRAD=0 gives the direct kernel.
TEST(ConvTest, ManyChannelThreeByThreeTakesWinogradAndMatchesReference) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  RandomConv c;
  c.in_c = c.out_c = 64;
  c.in = {16, 16}, c.kernel = {3, 3}, c.stride = {1, 1}, c.dilation = {1, 1};
  c.pad_begin = {1, 1}, c.pad_end = {1, 1}, c.out = {16, 16};
  c.w.resize(static_cast<size_t>(ShapeElementCount(c.WShape())));
  for (float& v : c.w) v = dist(rng) / 8;
  c.b.resize(64);
  for (float& v : c.b) v = dist(rng);
  WindowGeometry g;
  g.rank = 2;
  g.in = c.in, g.kernel = c.kernel, g.stride = c.stride, g.dilation = c.dilation;
  g.pad_begin = c.pad_begin, g.pad_end = c.pad_end, g.out = c.out;
  constexpr int64_t kChannels = 64, kPixels = 256;
  // NCHW -> NHWC, or -> nChw16c ([N, C/16, H, W, 16]).
  auto relayout = [](const std::vector<double>& v, int64_t n, bool blocked) {
    std::vector<double> out(v.size());
    for (int64_t b = 0; b < n; ++b)
      for (int64_t k = 0; k < kChannels; ++k)
        for (int64_t i = 0; i < kPixels; ++i) {
          const int64_t to = blocked ? ((b * kChannels / 16 + k / 16) * kPixels + i) * 16 + k % 16
                                     : (b * kPixels + i) * kChannels + k;
          out[static_cast<size_t>(to)] = v[static_cast<size_t>((b * kChannels + k) * kPixels + i)];
        }
    return out;
  };
  struct Variant {
    bool sum, blocked, in_place;
  };
  for (const Variant variant : {Variant{false, false, false}, Variant{true, false, false}, Variant{true, true, true}}) {
    ConvPostOps ops;
    ops.activation = ConvPostOps::Activation::kRelu;
    ops.sum = variant.sum;
    ops.channels_last_x = ops.channels_last_y = true;
    ops.blocked_x = ops.blocked_y = variant.blocked;
    for (const char* setting : {"1", "0"}) {
      SCOPED_TRACE(std::string("TESSERA_CONV_WINOGRAD=") + setting + (variant.sum ? " sum" : "") +
                   (variant.blocked ? " nChw16c" : " NHWC") + (variant.in_place ? " in place" : ""));
      setenv("TESSERA_CONV_WINOGRAD", setting, 1);
      DnnlConv conv(false, 1, Tensor::FromVector(DType::kFloat32, c.WShape(), c.w), ops);
      for (int64_t batch : {2, 3}) {
        std::vector<float> x(static_cast<size_t>(ShapeElementCount(c.XShape(batch))));
        for (float& v : x) v = dist(rng);
        std::vector<double> z_nchw(x.size(), 0.0);
        if (variant.sum)
          for (double& v : z_nchw) v = dist(rng);
        const std::vector<double> x_user_d = relayout(std::vector<double>(x.begin(), x.end()), batch, variant.blocked);
        const std::vector<float> x_user(x_user_d.begin(), x_user_d.end());
        const std::vector<double> z_user_d = relayout(z_nchw, batch, variant.blocked);
        std::vector<float> z_user(z_user_d.begin(), z_user_d.end());
        std::vector<double> want = Reference(c, x, batch);
        for (size_t i = 0; i < want.size(); ++i) want[i] = std::max(want[i] + z_nchw[i], 0.0);
        want = relayout(want, batch, variant.blocked);
        std::vector<float> y = variant.in_place ? z_user : std::vector<float>(want.size(), NAN);
        const float* addend = !variant.sum ? nullptr : variant.in_place ? y.data() : z_user.data();
        auto done = conv.Run(g, c.XShape(batch), c.WShape(), kChannels, x_user.data(), nullptr, c.b.data(), y.data(),
                             addend);
        ASSERT_TRUE(done.ok()) << done.status().message();
        ASSERT_TRUE(*done);
        const bool winograd = conv.last_impl().find("wino") != std::string::npos;
        EXPECT_EQ(winograd, std::string(setting) == "1") << conv.last_impl();
        for (size_t i = 0; i < want.size(); ++i) {
          ASSERT_NEAR(y[i], want[i], 1e-4 * (1 + std::fabs(want[i]))) << conv.last_impl() << " batch " << batch << " at " << i;
        }
        if (batch == 2) {
          EXPECT_EQ(conv.DropConstantWeights(), !winograd) << conv.last_impl();
        }
      }
    }
  }
  unsetenv("TESSERA_CONV_WINOGRAD");
}

// A 3x3 convolution to 24 output channels (DBNet's FPN head), NHWC on both sides with ReLU, takes a
// kernel other than brgconv (which would pad the channels to 32) and matches the reference.
TEST(ConvTest, TwentyFourOutputChannelsNhwcAvoidsPaddedKernelAndMatchesReference) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  RandomConv c;
  c.in_c = 32, c.out_c = 24;
  c.in = {20, 20}, c.kernel = {3, 3}, c.stride = {1, 1}, c.dilation = {1, 1};
  c.pad_begin = {1, 1}, c.pad_end = {1, 1}, c.out = {20, 20};
  c.w.resize(static_cast<size_t>(ShapeElementCount(c.WShape())));
  for (float& v : c.w) v = dist(rng) / 8;
  c.b.resize(24);
  for (float& v : c.b) v = dist(rng);
  WindowGeometry g;
  g.rank = 2;
  g.in = c.in, g.kernel = c.kernel, g.stride = c.stride, g.dilation = c.dilation;
  g.pad_begin = c.pad_begin, g.pad_end = c.pad_end, g.out = c.out;
  constexpr int64_t kPixels = 400;
  auto to_nhwc = [](const std::vector<double>& v, int64_t channels) {
    std::vector<double> out(v.size());
    for (int64_t k = 0; k < channels; ++k)
      for (int64_t i = 0; i < kPixels; ++i)
        out[static_cast<size_t>(i * channels + k)] = v[static_cast<size_t>(k * kPixels + i)];
    return out;
  };
  ConvPostOps ops;
  ops.activation = ConvPostOps::Activation::kRelu;
  ops.channels_last_x = ops.channels_last_y = true;
  DnnlConv conv(false, 1, Tensor::FromVector(DType::kFloat32, c.WShape(), c.w), ops);
  std::vector<float> x(static_cast<size_t>(ShapeElementCount(c.XShape(1))));
  for (float& v : x) v = dist(rng);
  const std::vector<double> x_nhwc_d = to_nhwc(std::vector<double>(x.begin(), x.end()), c.in_c);
  const std::vector<float> x_nhwc(x_nhwc_d.begin(), x_nhwc_d.end());
  std::vector<double> want = Reference(c, x, 1);
  for (double& v : want) v = std::max(v, 0.0);
  want = to_nhwc(want, c.out_c);
  std::vector<float> y(want.size(), NAN);
  auto done = conv.Run(g, c.XShape(1), c.WShape(), c.out_c, x_nhwc.data(), nullptr, c.b.data(), y.data());
  ASSERT_TRUE(done.ok()) << done.status().message();
  ASSERT_TRUE(*done);
  EXPECT_EQ(conv.last_impl().find("brgconv:"), std::string::npos) << conv.last_impl();
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_NEAR(y[i], want[i], 1e-4 * (1 + std::fabs(want[i]))) << conv.last_impl() << " at " << i;
  }
}

TEST(ConvTest, HandCheckedTwoByTwoKernel) {
  // x = 0..8 as 3x3, w = ones 2x2: each output is the sum of a 2x2 block.
  std::vector<float> x(9);
  for (int i = 0; i < 9; ++i) x[static_cast<size_t>(i)] = static_cast<float>(i);
  auto out = OneNodeModel("Conv", 11)
                 .Input("x", Tensor::FromVector(DType::kFloat32, {1, 1, 3, 3}, x))
                 .Input("w", Tensor::FromVector(DType::kFloat32, {1, 1, 2, 2}, std::vector<float>{1, 1, 1, 1}))
                 .Input("b", Tensor::FromVector(DType::kFloat32, {1}, std::vector<float>{0.5f}))
                 .Output("y", 4)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{1, 1, 2, 2}));
  const float want[] = {8.5f, 12.5f, 20.5f, 24.5f};
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ((*out)[0].data<float>()[i], want[i]);
}

TEST(ConvTest, Float64AndFloat16HandChecked) {
  // 1-D, pads 1 each side, SAME_UPPER-free: y[i] = x[i-1] + 2 x[i] + 3 x[i+1].
  const std::vector<double> x = {1, 2, 3, 4};
  auto out = OneNodeModel("Conv", 11)
                 .Input("x", Tensor::FromVector(DType::kFloat64, {1, 1, 4}, x))
                 .Input("w", Tensor::FromVector(DType::kFloat64, {1, 1, 3}, std::vector<double>{1, 2, 3}))
                 .Output("y", 3, DType::kFloat64)
                 .Ints("pads", {1, 1})
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  const double want[] = {8, 14, 20, 11};
  for (int i = 0; i < 4; ++i) EXPECT_DOUBLE_EQ((*out)[0].data<double>()[i], want[i]);

  std::vector<uint16_t> xh, wh;
  for (double v : x) xh.push_back(FloatToHalf(static_cast<float>(v)));
  for (float v : {1.0f, 2.0f, 3.0f}) wh.push_back(FloatToHalf(v));
  auto half = OneNodeModel("Conv", 11)
                  .Input("x", Tensor::FromVector(DType::kFloat16, {1, 1, 4}, xh))
                  .Input("w", Tensor::FromVector(DType::kFloat16, {1, 1, 3}, wh))
                  .Output("y", 3, DType::kFloat16)
                  .String("auto_pad", "SAME_UPPER")
                  .Run();
  ASSERT_TRUE(half.ok()) << half.status().message();
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(HalfToFloat((*half)[0].data<uint16_t>()[i]), static_cast<float>(want[i]));
}

// float16 runs oneDNN on float32 copies: compare with the reference over the float16-rounded inputs.
TEST(ConvTest, RandomFloat16ProblemsMatchReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  auto to_half = [](std::vector<float>& v) {
    std::vector<uint16_t> h;
    for (float& f : v) {
      h.push_back(FloatToHalf(f));
      f = HalfToFloat(h.back());
    }
    return h;
  };
  for (int trial = 0; trial < 12; ++trial) {
    RandomConv c = MakeRandomConv(rng, trial % 2 == 1);
    std::vector<float> x(static_cast<size_t>(ShapeElementCount(c.XShape(c.batch))));
    for (float& v : x) v = dist(rng);
    const std::vector<uint16_t> xh = to_half(x), wh = to_half(c.w), bh = to_half(c.b);
    OneNodeModel m(c.transpose ? "ConvTranspose" : "Conv", 11);
    m.Input("x", Tensor::FromVector(DType::kFloat16, c.XShape(c.batch), xh))
        .Input("w", Tensor::FromVector(DType::kFloat16, c.WShape(), wh));
    if (!c.b.empty()) m.Input("b", Tensor::FromVector(DType::kFloat16, {c.out_c}, bh));
    m.Output("y", static_cast<int>(c.in.size()) + 2, DType::kFloat16)
        .Int("group", c.group)
        .Ints("strides", c.stride)
        .Ints("dilations", c.dilation)
        .Ints("pads", c.Pads());
    if (c.transpose) m.Ints("output_padding", c.output_padding);
    auto out = m.Run();
    ASSERT_TRUE(out.ok()) << out.status().message();
    const std::vector<double> want = Reference(c, x, c.batch);
    ASSERT_EQ((*out)[0].element_count(), static_cast<int64_t>(want.size()));
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_NEAR(HalfToFloat((*out)[0].data<uint16_t>()[i]), want[i], 2e-3 * (1 + std::fabs(want[i])))
          << (c.transpose ? "ConvTranspose" : "Conv") << " X " << ShapeToString(c.XShape(c.batch)) << " W "
          << ShapeToString(c.WShape()) << " at " << i;
    }
  }
}

TEST(ConvTest, ChannelMismatchNamesShapes) {
  auto out = OneNodeModel("Conv", 11)
                 .Input("x", Tensor::FromVector(DType::kFloat32, {1, 3, 5, 5}, std::vector<float>(75, 1.0f)))
                 .Input("w", Tensor::FromVector(DType::kFloat32, {2, 4, 3, 3}, std::vector<float>(72, 1.0f)))
                 .Output("y", 4)
                 .Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("[1,3,5,5]"), std::string::npos) << out.status().message();
  EXPECT_NE(out.status().message().find("[2,4,3,3]"), std::string::npos) << out.status().message();
}

TEST(ConvTest, KernelLargerThanPaddedInputNamesShapes) {
  auto out = OneNodeModel("Conv", 11)
                 .Input("x", Tensor::FromVector(DType::kFloat32, {1, 1, 2, 2}, std::vector<float>(4, 1.0f)))
                 .Input("w", Tensor::FromVector(DType::kFloat32, {1, 1, 3, 3}, std::vector<float>(9, 1.0f)))
                 .Output("y", 4)
                 .Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("[1,1,2,2]"), std::string::npos) << out.status().message();
  EXPECT_NE(out.status().message().find("larger than the padded input"), std::string::npos) << out.status().message();
}

TEST(ConvTest, TransposeChannelMismatchFails) {
  auto out = OneNodeModel("ConvTranspose", 11)
                 .Input("x", Tensor::FromVector(DType::kFloat32, {1, 2, 3, 3}, std::vector<float>(18, 1.0f)))
                 .Input("w", Tensor::FromVector(DType::kFloat32, {3, 1, 2, 2}, std::vector<float>(12, 1.0f)))
                 .Output("y", 4)
                 .Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("[3,1,2,2]"), std::string::npos) << out.status().message();
}

TEST(ConvTest, EmptyBatchGivesEmptyOutput) {
  auto out = OneNodeModel("Conv", 11)
                 .Input("x", Tensor::FromVector(DType::kFloat32, {0, 1, 3, 3}, std::vector<float>{}))
                 .Input("w", Tensor::FromVector(DType::kFloat32, {2, 1, 2, 2}, std::vector<float>(8, 1.0f)))
                 .Output("y", 4)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{0, 2, 2, 2}));
}

}  // namespace
}  // namespace tessera
