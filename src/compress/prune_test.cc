// PruneModelFile end to end: exact unstructured sparsity, structured channel pruning that shrinks both
// products of a pair (checked against the original model with the same channels zeroed, which must give
// the same output because Relu(0) = GELU(0) = 0 with the removed bias entries zeroed too), the pairs it
// must leave whole, and refused options. Weights are seeded random; the seed is printed on failure.
#include "compress/prune.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "model/onnx_loader.h"
#include "tessera/session.h"
#include "testing/onnx_builder.h"

namespace tessera::compress {
namespace {

using testing::OnnxBuilder;

// Channel c of a weight gets norm about 2^c: the weakest channels are the first ones, whatever the draw.
std::vector<float> RampedRows(int64_t channels, int64_t per_channel, bool channel_major, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(channels * per_channel));
  for (int64_t i = 0; i < channels * per_channel; ++i) {
    const int64_t c = channel_major ? i / per_channel : i % channels;
    v[static_cast<size_t>(i)] = d(rng) * std::ldexp(0.01f, static_cast<int>(c));
  }
  return v;
}

// x[2, 3, 6, 6] -> Conv(W1 [8, 3, 3, 3], B1) -> Relu -> Conv(W2 [5, 8, 1, 1]) -> y. With `zero_first`,
// channels 0..zero_first-1 of W1 and B1 are zero (the reference for pruning them).
std::string WriteConvPair(unsigned seed, int zero_first) {
  std::mt19937 rng(seed);
  std::vector<float> w1 = RampedRows(8, 27, true, rng), b1(8);
  std::uniform_real_distribution<float> d(-0.5f, 0.5f);
  for (float& b : b1) b = d(rng);
  std::vector<float> w2(5 * 8);
  for (float& w : w2) w = d(rng);
  for (int c = 0; c < zero_first; ++c) {
    std::fill(w1.begin() + c * 27, w1.begin() + (c + 1) * 27, 0.0f);
    b1[static_cast<size_t>(c)] = 0.0f;
  }
  OnnxBuilder b(17);
  b.Input("x", DType::kFloat32, {2, 3, 6, 6});
  b.Initializer("W1", w1, {8, 3, 3, 3});
  b.Initializer("B1", b1, {8});
  b.Initializer("W2", w2, {5, 8, 1, 1});
  auto& c1 = b.Node("Conv", {"x", "W1", "B1"}, {"c1"}, "conv1");
  OnnxBuilder::IntsAttribute(c1, "pads", {1, 1, 1, 1});
  b.Node("Relu", {"c1"}, {"r1"}, "relu");
  b.Node("Conv", {"r1", "W2"}, {"y"}, "conv2");
  b.Output("y", DType::kFloat32, {2, 5, 6, 6});
  return b.WriteTemp("pair.onnx");
}

Tensor RunModel(const std::string& path, const Tensor& x) {
  auto s = Session::Load(path);
  EXPECT_TRUE(s.ok()) << s.status().message();
  if (!s.ok()) return {};
  auto out = (*s)->Run({{"x", x}});
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? (*out)[0] : Tensor();
}

const onnx::TensorProto* FindInitializer(const onnx::ModelProto& m, const std::string& prefix) {
  for (const auto& t : m.graph().initializer()) {
    if (t.name().rfind(prefix, 0) == 0) return &t;
  }
  return nullptr;
}

TEST(PruneTest, StructuredChannelsShrinkBothConvsAndMatchZeroedChannels) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const std::string in = WriteConvPair(seed, 0), out = in + ".pruned.onnx";
  PruneOptions o;
  o.sparsity = 0.5;
  o.structured_channels = true;
  auto report = PruneModelFile(in, out, o);
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->layers.size(), 1u);
  EXPECT_EQ(report->layers[0].form, "channels 8 -> 4 (into conv2)");
  onnx::ModelProto pruned;
  ASSERT_TRUE(ReadModelProtoFile(out, pruned).ok());
  const onnx::TensorProto* w1 = FindInitializer(pruned, "W1");
  const onnx::TensorProto* w2 = FindInitializer(pruned, "W2");
  ASSERT_NE(w1, nullptr);
  ASSERT_NE(w2, nullptr);
  EXPECT_EQ(std::vector<int64_t>(w1->dims().begin(), w1->dims().end()), (std::vector<int64_t>{4, 3, 3, 3}));
  EXPECT_EQ(std::vector<int64_t>(w2->dims().begin(), w2->dims().end()), (std::vector<int64_t>{5, 4, 1, 1}));
  std::mt19937 rng(seed + 1);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> xv(2 * 3 * 6 * 6);
  for (float& v : xv) v = d(rng);
  const Tensor x = Tensor::FromVector(DType::kFloat32, {2, 3, 6, 6}, xv);
  const Tensor got = RunModel(out, x), want = RunModel(WriteConvPair(seed, 4), x);
  ASSERT_EQ(got.shape(), want.shape());
  for (int64_t i = 0; i < got.element_count(); ++i) {
    ASSERT_NEAR(got.data<float>()[i], want.data<float>()[i], 1e-5f) << "at " << i;
  }
}

TEST(PruneTest, UnstructuredZeroesTheExactFraction) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const std::string in = WriteConvPair(seed, 0), out = in + ".sparse.onnx";
  PruneOptions o;
  o.sparsity = 0.3;
  auto report = PruneModelFile(in, out, o);
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->layers.size(), 2u);
  onnx::ModelProto pruned;
  ASSERT_TRUE(ReadModelProtoFile(out, pruned).ok());
  const onnx::TensorProto* w1 = FindInitializer(pruned, "W1");
  ASSERT_NE(w1, nullptr);
  ASSERT_EQ(w1->raw_data().size(), 216u * sizeof(float));
  const float* v = reinterpret_cast<const float*>(w1->raw_data().data());
  int zeros = 0;
  for (int i = 0; i < 216; ++i) zeros += v[i] == 0.0f ? 1 : 0;
  EXPECT_EQ(zeros, 64);  // floor(0.3 * 216)
}

// A product whose output is a graph output, or reaches a residual Add, keeps its channels.
TEST(PruneTest, ResidualAndGraphOutputKeepChannels) {
  OnnxBuilder b(17);
  b.Input("x", DType::kFloat32, {1, 4, 5, 5});
  b.Initializer("W1", std::vector<float>(16, 0.5f), {4, 4, 1, 1});
  b.Initializer("W2", std::vector<float>(16, 0.25f), {4, 4, 1, 1});
  b.Node("Conv", {"x", "W1"}, {"c1"}, "conv1");
  b.Node("Add", {"c1", "x"}, {"s"}, "residual");
  b.Node("Conv", {"s", "W2"}, {"y"}, "conv2");
  b.Output("y", DType::kFloat32, {1, 4, 5, 5});
  PruneOptions o;
  o.sparsity = 0.5;
  o.structured_channels = true;
  const std::string in = b.WriteTemp();
  auto report = PruneModelFile(in, in + ".out.onnx", o);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("nothing to prune"), std::string::npos) << report.status().message();
  EXPECT_NE(report.status().message().find("it meets 'x' at Add 'residual'"), std::string::npos)
      << report.status().message();
}

TEST(PruneTest, SparsityOutsideTheOpenIntervalIsRefused) {
  for (double s : {0.0, 1.0, -0.5, 2.0, std::nan("")}) {
    PruneOptions o;
    o.sparsity = s;
    EXPECT_FALSE(ValidatePruneOptions(o).ok()) << s;
  }
}

}  // namespace
}  // namespace tessera::compress
