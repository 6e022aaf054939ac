// ONNX Attention (opset 23) through one-node models against the double-precision reference, over seeded
// random shapes: 3-D and 4-D layouts, GQA ratios, past/present, causal, bool and float masks of
// broadcast shapes, scale, softcap, every qk_matmul_output_mode, float16; and the nodes it must refuse.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/half.h"
#include "ops/cpu/attention/attention_test_reference.h"
#include "testing/one_node_model.h"

namespace tessera {
namespace {

using testing::OneNodeModel;
using testing::RandomFloats;
using testing::ReferenceAttention;

Tensor F32(const Shape& shape, const std::vector<float>& v) { return Tensor::FromVector(DType::kFloat32, shape, v); }

TEST(OnnxAttentionTest, RandomShapesMasksAndCachesMatchReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 40; ++trial) {
    ReferenceAttention ref;
    const int64_t groups = 1 + rng() % 3;
    ref.batch = 1 + rng() % 2, ref.kv_heads = 1 + rng() % 3, ref.q_heads = ref.kv_heads * groups;
    ref.q_rows = 1 + rng() % 20, ref.dim = 1 + rng() % 40, ref.v_dim = trial % 4 == 0 ? 1 + rng() % 20 : ref.dim;
    const int64_t past = trial % 3 == 0 ? 0 : rng() % 30, fresh = trial % 5 == 0 ? 1 + rng() % 20 : ref.q_rows;
    ref.kv_rows = past + fresh;
    ref.causal = trial % 2 == 1;
    ref.causal_offset = past;
    const bool rank3 = trial % 4 == 3, has_scale = trial % 3 == 1, softcap = trial % 7 == 2;
    const int mask_kind = static_cast<int>(rng() % 3);  // none, bool [S, L], float [B, 1, S, L]
    ref.scale = has_scale ? 0.3 : 1.0 / std::sqrt(static_cast<double>(ref.dim));
    ref.softcap = softcap ? 2.5 : 0.0;
    const int mode = static_cast<int>(rng() % 4);
    const int64_t B = ref.batch, Hq = ref.q_heads, Hk = ref.kv_heads, S = ref.q_rows, L = ref.kv_rows;
    std::vector<float> q = RandomFloats(rng, B * Hq * S * ref.dim), k = RandomFloats(rng, B * Hk * L * ref.dim);
    std::vector<float> v = RandomFloats(rng, B * Hk * L * ref.v_dim);
    // The node gets past and new rows apart; the reference sees them joined.
    auto split = [&](const std::vector<float>& x, int64_t d, std::vector<float>& old, std::vector<float>& fresh_rows) {
      for (int64_t bh = 0; bh < B * Hk; ++bh) {
        for (int64_t r = 0; r < L; ++r) {
          auto& dst = r < past ? old : fresh_rows;
          for (int64_t e = 0; e < d; ++e) dst.push_back(x[static_cast<size_t>((bh * L + r) * d + e)]);
        }
      }
    };
    std::vector<float> pk, kn, pv, vn;
    split(k, ref.dim, pk, kn);
    split(v, ref.v_dim, pv, vn);
    OneNodeModel m("Attention", 23);
    if (rank3) {
      std::vector<double> rows = testing::HeadsToRows(std::vector<double>(q.begin(), q.end()), B, Hq, S, ref.dim);
      m.Input("Q", F32({B, S, Hq * ref.dim}, std::vector<float>(rows.begin(), rows.end())));
    } else {
      m.Input("Q", F32({B, Hq, S, ref.dim}, q));
    }
    // K and V stay 4-D (a 3-D Q with 4-D K/V is allowed: each input has its own layout).
    m.Input("K", F32({B, Hk, fresh, ref.dim}, kn)).Input("V", F32({B, Hk, fresh, ref.v_dim}, vn));
    if (mask_kind == 1) {
      std::vector<bool> mask(static_cast<size_t>(S * L));
      for (size_t i = 0; i < mask.size(); ++i) mask[i] = rng() % 4 != 0;
      for (int64_t i = 0; i < S; ++i) mask[static_cast<size_t>(i * L)] = true;
      m.Input("attn_mask", Tensor::FromVector(DType::kBool, {S, L}, mask));
      ref.bias.resize(static_cast<size_t>(B * Hq * S * L));
      for (size_t i = 0; i < ref.bias.size(); ++i) ref.bias[i] = mask[i % mask.size()] ? 0.0 : -INFINITY;
    } else if (mask_kind == 2) {
      std::vector<float> mask = RandomFloats(rng, B * S * L, -3.0f, 3.0f);
      m.Input("attn_mask", F32({B, 1, S, L}, mask));
      ref.bias.resize(static_cast<size_t>(B * Hq * S * L));
      for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < Hq; ++h)
          for (int64_t i = 0; i < S * L; ++i)
            ref.bias[static_cast<size_t>((b * Hq + h) * S * L + i)] = mask[static_cast<size_t>(b * S * L + i)];
    } else {
      m.SkipInput();
    }
    if (past > 0)
      m.Input("past_key", F32({B, Hk, past, ref.dim}, pk)).Input("past_value", F32({B, Hk, past, ref.v_dim}, pv));
    m.Output("Y", rank3 ? 3 : 4).Output("present_key", 4).Output("present_value", 4).Output("qk", 4);
    m.Int("is_causal", ref.causal).Int("qk_matmul_output_mode", mode);
    if (rank3) m.Int("q_num_heads", Hq).Int("kv_num_heads", Hk);
    if (has_scale) m.Float("scale", 0.3f);
    if (softcap) m.Float("softcap", 2.5f);
    auto out = m.Run();
    const std::string what = "trial " + std::to_string(trial) + " B" + std::to_string(B) + " Hq" + std::to_string(Hq) +
                             " Hk" + std::to_string(Hk) + " S" + std::to_string(S) + " L" + std::to_string(L) +
                             " past" + std::to_string(past) + " mask" + std::to_string(mask_kind) + " mode" +
                             std::to_string(mode);
    ASSERT_TRUE(out.ok()) << what << ": " << out.status().message();
    std::vector<double> scores;
    std::vector<double> want = ref.Run(q, k, v, mode, &scores);
    if (rank3) want = testing::HeadsToRows(want, B, Hq, S, ref.v_dim);
    const Tensor& y = (*out)[0];
    ASSERT_EQ(y.element_count(), static_cast<int64_t>(want.size())) << what;
    for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(y.data<float>()[i], want[i], 2e-5) << what << " Y at " << i;
    for (size_t i = 0; i < k.size(); ++i)
      ASSERT_EQ((*out)[1].data<float>()[i], k[i]) << what << " present_key at " << i;
    for (size_t i = 0; i < v.size(); ++i)
      ASSERT_EQ((*out)[2].data<float>()[i], v[i]) << what << " present_value at " << i;
    for (size_t i = 0; i < scores.size(); ++i) {
      const float got = (*out)[3].data<float>()[i];
      if (std::isinf(scores[i]))
        ASSERT_EQ(got, scores[i]) << what << " qk at " << i;
      else
        ASSERT_NEAR(got, scores[i], 2e-5 * std::max(1.0, std::fabs(scores[i]))) << what << " qk at " << i;
    }
  }
}

TEST(OnnxAttentionTest, Float16InputsComputeInFloat32) {
  std::mt19937 rng(11);
  ReferenceAttention ref;
  ref.batch = 2, ref.q_heads = 4, ref.kv_heads = 2, ref.q_rows = 5, ref.kv_rows = 5, ref.dim = ref.v_dim = 16;
  ref.scale = 0.25, ref.causal = true;
  auto half = [&](int64_t n, std::vector<float>& rounded) {
    std::vector<float> x = RandomFloats(rng, n);
    std::vector<uint16_t> bits(x.size());
    for (size_t i = 0; i < x.size(); ++i) bits[i] = FloatToHalf(x[i]), x[i] = HalfToFloat(bits[i]);
    rounded = x;
    Tensor t = Tensor::AllocateUninitialized(DType::kFloat16, {ref.batch, n / (ref.batch * 5 * 16), 5, 16}).value();
    std::copy(bits.begin(), bits.end(), static_cast<uint16_t*>(t.raw_data()));
    return t;
  };
  std::vector<float> q, k, v;
  Tensor tq = half(2 * 4 * 5 * 16, q), tk = half(2 * 2 * 5 * 16, k), tv = half(2 * 2 * 5 * 16, v);
  auto out = OneNodeModel("Attention", 23)
                 .Input("Q", tq)
                 .Input("K", tk)
                 .Input("V", tv)
                 .Output("Y", 4, DType::kFloat16)
                 .Int("is_causal", 1)
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ((*out)[0].dtype(), DType::kFloat16);
  const std::vector<double> want = ref.Run(q, k, v);
  const uint16_t* got = static_cast<const uint16_t*>((*out)[0].raw_data());
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(HalfToFloat(got[i]), want[i], 2e-3) << i;
}

TEST(OnnxAttentionTest, MaskThatDoesNotBroadcastIsRejected) {
  std::mt19937 rng(1);
  Tensor q = F32({1, 2, 3, 4}, RandomFloats(rng, 24));
  auto out = OneNodeModel("Attention", 23)
                 .Input("Q", q)
                 .Input("K", q)
                 .Input("V", q)
                 .Input("attn_mask", F32({2, 3}, RandomFloats(rng, 6)))
                 .Output("Y", 4)
                 .Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("attn_mask of shape [2,3] does not broadcast"), std::string::npos)
      << out.status().message();
}

TEST(OnnxAttentionTest, BadAttributesAndShapesAreRejected) {
  std::mt19937 rng(2);
  Tensor q = F32({1, 3, 2, 4}, RandomFloats(rng, 24)), k = F32({1, 2, 2, 4}, RandomFloats(rng, 16));
  auto ratio = OneNodeModel("Attention", 23).Input("Q", q).Input("K", k).Input("V", k).Output("Y", 4).Run();
  ASSERT_FALSE(ratio.ok());
  EXPECT_NE(ratio.status().message().find("not a multiple of kv_num_heads"), std::string::npos)
      << ratio.status().message();
  auto cap =
      OneNodeModel("Attention", 23).Input("Q", q).Input("K", q).Input("V", q).Output("Y", 4).Float("softcap", -1).Run();
  ASSERT_FALSE(cap.ok());
  EXPECT_NE(cap.status().message().find("softcap"), std::string::npos) << cap.status().message();
  Tensor k5 = F32({1, 3, 2, 5}, RandomFloats(rng, 30));
  auto dims = OneNodeModel("Attention", 23).Input("Q", q).Input("K", k5).Input("V", k5).Output("Y", 4).Run();
  ASSERT_FALSE(dims.ok());
  EXPECT_NE(dims.status().message().find("head size"), std::string::npos) << dims.status().message();
  Tensor q2 = F32({6, 4}, RandomFloats(rng, 24));
  auto rank = OneNodeModel("Attention", 23).Input("Q", q2).Input("K", q2).Input("V", q2).Output("Y", 2).Run();
  ASSERT_FALSE(rank.ok());
  EXPECT_NE(rank.status().message().find("Q must be 3-D"), std::string::npos) << rank.status().message();
  auto past = OneNodeModel("Attention", 23)
                  .Input("Q", q)
                  .Input("K", q)
                  .Input("V", q)
                  .SkipInput()
                  .Input("past_key", F32({1, 3, 1, 5}, RandomFloats(rng, 15)))
                  .Input("past_value", F32({1, 3, 1, 4}, RandomFloats(rng, 12)))
                  .Output("Y", 4)
                  .Run();
  ASSERT_FALSE(past.ok());
  EXPECT_NE(past.status().message().find("past_key"), std::string::npos) << past.status().message();
}

// The installed ONNX library (1.12) has no opset-23 schemas: Attention loads because it has a kernel
// (the loader hides it from the checker), while an op with neither a schema nor a kernel is still refused.
TEST(OnnxAttentionTest, UnknownOpAtOpset23IsStillRefusedByTheChecker) {
  std::mt19937 rng(3);
  Tensor q = F32({1, 1, 2, 4}, RandomFloats(rng, 8));
  auto out = OneNodeModel("NoSuchAttention", 23).Input("Q", q).Output("Y", 4).Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("No Op registered for NoSuchAttention"), std::string::npos)
      << out.status().message();
}

}  // namespace
}  // namespace tessera
