// EmbedLayerNormalization through one-node models against a double-precision reference (with and without
// segments, mask and position_ids), and an out-of-range id refused.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "testing/one_node_model.h"

namespace tessera {
namespace {

using testing::OneNodeModel;

std::vector<float> Random(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

Tensor F32(const Shape& shape, const std::vector<float>& v) { return Tensor::FromVector(DType::kFloat32, shape, v); }
Tensor I32(const Shape& shape, const std::vector<int32_t>& v) { return Tensor::FromVector(DType::kInt32, shape, v); }

TEST(EmbedLayerNormTest, EveryOptionalInputFormMatchesReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (int form = 0; form < 8; ++form) {
    const bool segment = form & 1, masked = form & 2, pos_given = form & 4;
    const int64_t b = 1 + rng() % 3, s = 1 + rng() % 6, h = 1 + rng() % 20, vocab = 11, positions = 6;
    std::vector<int32_t> ids(static_cast<size_t>(b * s)), seg_ids(ids.size()), mask(ids.size()), pos_ids(static_cast<size_t>(s));
    for (auto& v : ids) v = static_cast<int32_t>(rng() % vocab);
    for (auto& v : seg_ids) v = static_cast<int32_t>(rng() % 2);
    for (auto& v : mask) v = static_cast<int32_t>(rng() % 2);
    for (auto& v : pos_ids) v = static_cast<int32_t>(rng() % positions);
    auto word = Random(static_cast<size_t>(vocab * h), rng), pos = Random(static_cast<size_t>(positions * h), rng);
    auto seg = Random(static_cast<size_t>(2 * h), rng), gamma = Random(static_cast<size_t>(h), rng);
    auto beta = Random(static_cast<size_t>(h), rng);
    OneNodeModel m("EmbedLayerNormalization", 1, "com.microsoft");
    m.Input("ids", I32({b, s}, ids));
    if (segment) m.Input("seg_ids", I32({b, s}, seg_ids)); else m.SkipInput();
    m.Input("word", F32({vocab, h}, word), true).Input("pos", F32({positions, h}, pos), true);
    if (segment) m.Input("seg", F32({2, h}, seg), true); else m.SkipInput();
    m.Input("gamma", F32({h}, gamma)).Input("beta", F32({h}, beta));
    if (masked) m.Input("mask", I32({b, s}, mask)); else m.SkipInput();
    if (pos_given) m.Input("pos_ids", I32({1, s}, pos_ids));
    auto out = m.Output("y", 3).Output("mask_index", 1, DType::kInt32).Output("sum", 3).Float("epsilon", 1e-5f).Run();
    ASSERT_TRUE(out.ok()) << out.status().message();
    for (int64_t r = 0; r < b * s; ++r) {
      const int64_t t = r % s, p = pos_given ? pos_ids[static_cast<size_t>(t)] : t;
      std::vector<double> sum(static_cast<size_t>(h));
      double mean = 0, var = 0;
      for (int64_t i = 0; i < h; ++i) {
        sum[static_cast<size_t>(i)] = static_cast<double>(word[static_cast<size_t>(ids[static_cast<size_t>(r)] * h + i)]) +
                                      pos[static_cast<size_t>(p * h + i)] +
                                      (segment ? seg[static_cast<size_t>(seg_ids[static_cast<size_t>(r)] * h + i)] : 0.0);
        mean += sum[static_cast<size_t>(i)];
      }
      mean /= static_cast<double>(h);
      for (double v : sum) var += (v - mean) * (v - mean);
      const double inv = 1.0 / std::sqrt(var / static_cast<double>(h) + 1e-5);
      for (int64_t i = 0; i < h; ++i) {
        const size_t u = static_cast<size_t>(i);
        ASSERT_NEAR((*out)[0].data<float>()[r * h + i], (sum[u] - mean) * inv * gamma[u] + beta[u], 1e-4);
        ASSERT_NEAR((*out)[2].data<float>()[r * h + i], sum[u], 1e-5);
      }
    }
    for (int64_t bi = 0; bi < b; ++bi) {
      int32_t want = 0;
      for (int64_t t = 0; masked && t < s; ++t) want += mask[static_cast<size_t>(bi * s + t)];
      EXPECT_EQ((*out)[1].data<int32_t>()[bi], want);
    }
  }
}

TEST(EmbedLayerNormTest, IdOutsideTheTableIsRejected) {
  std::mt19937 rng(5);
  auto out = OneNodeModel("EmbedLayerNormalization", 1, "com.microsoft").Input("ids", I32({1, 2}, {0, 9}))
                 .SkipInput().Input("word", F32({4, 3}, Random(12, rng))).Input("pos", F32({2, 3}, Random(6, rng)))
                 .SkipInput().Input("gamma", F32({3}, Random(3, rng))).Input("beta", F32({3}, Random(3, rng)))
                 .Output("y", 3).Output("mask_index", 1, DType::kInt32).Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("input 'input_ids' has id 9"), std::string::npos) << out.status().message();
}

}  // namespace
}  // namespace tessera
