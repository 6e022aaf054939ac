// Constant weights held once: once every kernel reading a constant has packed its own copy, the executor
// (and the session) let go of the original, and later runs, at new shapes too, still compute the same;
// a weight packed slab by slab, consumed by its only reader or left whole for a second one, too.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tessera/session.h"
#include "testing/onnx_builder.h"

namespace tessera {
namespace {

using testing::OnnxBuilder;

constexpr int64_t kK = 256, kN = 192;  // B is 192 KiB of float32: well above any other allocation here

struct Weights {
  std::vector<float> b;
  unsigned seed;
};

Weights RandomWeights() {
  Weights w;
  w.seed = std::random_device{}();
  std::mt19937 rng(w.seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  w.b.resize(static_cast<size_t>(kK * kN));
  for (float& v : w.b) v = dist(rng);
  return w;
}

// y = x @ B (and z = x2 @ B when `two_readers`), rows symbolic; B is an initializer. With `b_is_output`
// B is also a graph output, which must never be dropped.
std::unique_ptr<Session> LoadMatMul(const Weights& w, bool two_readers, bool b_is_output) {
  OnnxBuilder b(17);
  b.Input("x", DType::kFloat32, {-1, kK});
  b.Initializer("B", w.b, {kK, kN});
  b.Node("MatMul", {"x", "B"}, {"y"});
  b.Output("y", DType::kFloat32, {-1, kN});
  if (two_readers) {
    b.Node("Neg", {"x"}, {"x2"});
    b.Node("MatMul", {"x2", "B"}, {"z"});
    b.Output("z", DType::kFloat32, {-1, kN});
  }
  if (b_is_output) b.Output("B", DType::kFloat32, {kK, kN});
  SessionOptions options;
  options.threads = 1;
  auto session = Session::Load(b.WriteTemp(), options);
  EXPECT_TRUE(session.ok()) << session.status().message();
  return session.ok() ? std::move(session).value() : nullptr;
}

Tensor RandomRows(int64_t rows, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(rows * kK));
  for (float& f : v) f = dist(rng);
  return Tensor::FromVector(DType::kFloat32, {rows, kK}, v);
}

// Checks out = sign * x @ B against a double-precision product.
void ExpectProduct(const Tensor& x, const std::vector<float>& b, const Tensor& out, double sign) {
  ASSERT_EQ(out.shape(), (Shape{x.dim(0), kN}));
  for (int64_t r = 0; r < x.dim(0); ++r) {
    for (int64_t c = 0; c < kN; ++c) {
      double want = 0;
      for (int64_t k = 0; k < kK; ++k) want += double(x.data<float>()[r * kK + k]) * b[size_t(k * kN + c)];
      ASSERT_NEAR(out.data<float>()[r * kN + c], sign * want, 1e-3) << "row " << r << " col " << c;
    }
  }
}

// Live engine memory after one run with `rows` rows, its outputs already released.
size_t LiveAfterRun(Session& session, int64_t rows, std::mt19937& rng, const std::vector<float>& b) {
  Tensor x = RandomRows(rows, rng);
  {
    auto out = session.Run({{"x", x}});
    EXPECT_TRUE(out.ok()) << out.status().message();
    if (out.ok()) ExpectProduct(x, b, (*out)[0], 1.0);
  }
  return Buffer::live_bytes();
}

TEST(ConstantHandoverTest, PackedMatMulWeightIsFreedAfterFirstRun) {
  const Weights w = RandomWeights();
  SCOPED_TRACE("seed " + std::to_string(w.seed));
  std::mt19937 rng(w.seed);
  const size_t before_load = Buffer::live_bytes();
  auto session = LoadMatMul(w, false, false);
  ASSERT_NE(session, nullptr);
  const size_t b_bytes = static_cast<size_t>(kK * kN) * sizeof(float);
  EXPECT_GE(Buffer::live_bytes(), before_load + b_bytes) << "the loaded B should be live until it is packed";
  const size_t after_first = LiveAfterRun(*session, 3, rng, w.b);
  EXPECT_LT(after_first, before_load + b_bytes) << "B's original should be gone once oneDNN packed it";
  // New row counts build new primitives; B comes from the packed copy.
  for (int64_t rows : {1, 17, 64}) LiveAfterRun(*session, rows, rng, w.b);
}

TEST(ConstantHandoverTest, SharedWeightStaysUntilEveryReaderPacked) {
  const Weights w = RandomWeights();
  SCOPED_TRACE("seed " + std::to_string(w.seed));
  std::mt19937 rng(w.seed);
  auto session = LoadMatMul(w, true, false);
  ASSERT_NE(session, nullptr);
  for (int64_t rows : {2, 5}) {
    Tensor x = RandomRows(rows, rng);
    auto out = session->Run({{"x", x}});
    ASSERT_TRUE(out.ok()) << out.status().message();
    ExpectProduct(x, w.b, (*out)[0], 1.0);
    ExpectProduct(x, w.b, (*out)[1], -1.0);
  }
}

TEST(ConstantHandoverTest, WeightThatIsAGraphOutputIsKept) {
  const Weights w = RandomWeights();
  SCOPED_TRACE("seed " + std::to_string(w.seed));
  std::mt19937 rng(w.seed);
  auto session = LoadMatMul(w, false, true);
  ASSERT_NE(session, nullptr);
  for (int run = 0; run < 2; ++run) {
    Tensor x = RandomRows(4, rng);
    auto out = session->Run({{"x", x}});
    ASSERT_TRUE(out.ok()) << out.status().message();
    ExpectProduct(x, w.b, (*out)[0], 1.0);
    const Tensor& b_out = (*out)[1];
    ASSERT_EQ(b_out.element_count(), kK * kN);
    for (int64_t i = 0; i < kK * kN; ++i) ASSERT_EQ(b_out.data<float>()[i], w.b[size_t(i)]);
  }
}

// A weight large enough to be packed slab by slab (and, with one reader, consumed as it is packed): every
// reader still computes the right product on later runs, at new row counts, and with two readers the
// second one packs from a weight the first left whole.
TEST(ConstantHandoverTest, LargeWeightPackedInSlabsStaysRightForEveryReader) {
  constexpr int64_t k = 1024, n = 1100;  // 4.3 MiB: several 2 MiB slabs
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> weight(static_cast<size_t>(k * n));
  for (float& v : weight) v = dist(rng);
  for (bool two_readers : {false, true}) {
    OnnxBuilder b(17);
    b.Input("x", DType::kFloat32, {-1, k});
    b.Initializer("W", weight, {k, n});
    b.Node("MatMul", {"x", "W"}, {"y"});
    b.Output("y", DType::kFloat32, {-1, n});
    if (two_readers) {
      b.Node("Neg", {"x"}, {"x2"});
      b.Node("MatMul", {"x2", "W"}, {"z"});
      b.Output("z", DType::kFloat32, {-1, n});
    }
    SessionOptions options;
    options.threads = 1;
    auto session = Session::Load(b.WriteTemp(), options);
    ASSERT_TRUE(session.ok()) << session.status().message();
    for (int64_t rows : {3, 1, 9}) {
      std::vector<float> xv(static_cast<size_t>(rows * k));
      for (float& v : xv) v = dist(rng);
      Tensor x = Tensor::FromVector(DType::kFloat32, {rows, k}, xv);
      auto out = (*session)->Run({{"x", x}});
      ASSERT_TRUE(out.ok()) << out.status().message();
      for (size_t o = 0; o < out->size(); ++o) {
        const double sign = o == 0 ? 1.0 : -1.0;
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t c = 0; c < n; c += 37) {
            double want = 0;
            for (int64_t i = 0; i < k; ++i) want += double(xv[size_t(r * k + i)]) * weight[size_t(i * n + c)];
            ASSERT_NEAR((*out)[o].data<float>()[r * n + c], sign * want, 1e-3)
                << "readers " << (two_readers ? 2 : 1) << ", output " << o << ", rows " << rows;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace tessera
