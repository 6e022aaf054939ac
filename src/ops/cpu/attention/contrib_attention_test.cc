// com.microsoft GroupQueryAttention, MultiHeadAttention, Attention and RotaryEmbedding, and ONNX
// RotaryEmbedding, through one-node models: GQA over seeded random prompts (right-padded) and ragged
// decode steps against the double-precision reference, the packed MHA forms (which ONNX Runtime's CPU
// kernel lacks, so tests/ort_ops cannot check them) against the unpacked form, rotary against a direct
// formula, and the nodes each must refuse.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ops/cpu/attention/attention_test_reference.h"
#include "testing/one_node_model.h"

namespace tessera {
namespace {

using testing::OneNodeModel;
using testing::RandomFloats;
using testing::ReferenceAttention;

constexpr const char* kMs = "com.microsoft";

Tensor F32(const Shape& shape, const std::vector<float>& v) { return Tensor::FromVector(DType::kFloat32, shape, v); }
Tensor I32(const Shape& shape, const std::vector<int32_t>& v) { return Tensor::FromVector(DType::kInt32, shape, v); }

TEST(GroupQueryAttentionTest, RandomPromptsAndRaggedDecodeMatchReference) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 24; ++trial) {
    const bool prompt = trial % 2 == 0;
    const int64_t B = 1 + rng() % 3, Hk = 1 + rng() % 2, H = Hk * (1 + rng() % 4), D = 4 + rng() % 29;
    const int64_t S = prompt ? 1 + rng() % 12 : 1, P = prompt ? 0 : 1 + rng() % 40;
    const int64_t window = trial % 3 == 0 ? 1 + rng() % 6 : -1;
    std::vector<int32_t> seqlens(static_cast<size_t>(B));
    std::vector<int64_t> tokens(static_cast<size_t>(B)), offset(static_cast<size_t>(B));
    for (int64_t b = 0; b < B; ++b) {
      tokens[static_cast<size_t>(b)] = prompt ? 1 + rng() % S : S + rng() % (P + 1);  // padded prompt / ragged past
      seqlens[static_cast<size_t>(b)] = static_cast<int32_t>(tokens[static_cast<size_t>(b)] - 1);
      offset[static_cast<size_t>(b)] = prompt ? 0 : tokens[static_cast<size_t>(b)] - S;
    }
    const int64_t total = prompt ? S : P + S, present = std::max(total, P);
    std::vector<float> q = RandomFloats(rng, B * S * H * D), k = RandomFloats(rng, B * S * Hk * D);
    std::vector<float> v = RandomFloats(rng, B * S * Hk * D), pk = RandomFloats(rng, B * Hk * P * D);
    std::vector<float> pv = RandomFloats(rng, B * Hk * P * D);
    OneNodeModel m("GroupQueryAttention", 1, kMs);
    m.Input("query", F32({B, S, H * D}, q)).Input("key", F32({B, S, Hk * D}, k)).Input("value", F32({B, S, Hk * D}, v));
    if (P > 0)
      m.Input("past_key", F32({B, Hk, P, D}, pk)).Input("past_value", F32({B, Hk, P, D}, pv));
    else
      m.SkipInput().SkipInput();
    m.Input("seqlens_k", I32({B}, seqlens)).Input("total_sequence_length", I32({}, {static_cast<int32_t>(total)}));
    m.Output("output", 3)
        .Output("present_key", 4)
        .Output("present_value", 4)
        .Int("num_heads", H)
        .Int("kv_num_heads", Hk);
    if (window > 0) m.Int("local_window_size", window);
    auto out = m.Run();
    const std::string what = "trial " + std::to_string(trial) + " B" + std::to_string(B) + " H" + std::to_string(H) +
                             " Hk" + std::to_string(Hk) + " S" + std::to_string(S) + " P" + std::to_string(P);
    ASSERT_TRUE(out.ok()) << what << ": " << out.status().message();
    // The reference reads the cache as GQA lays it out: past rows, then the new ones at each row's offset.
    std::vector<float> kc(static_cast<size_t>(B * Hk * present * D), 0.0f), vc = kc;
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t h = 0; h < Hk; ++h) {
        const int64_t p = offset[static_cast<size_t>(b)];
        for (int64_t r = 0; r < p; ++r)
          for (int64_t e = 0; e < D; ++e) {
            kc[static_cast<size_t>(((b * Hk + h) * present + r) * D + e)] =
                pk[static_cast<size_t>(((b * Hk + h) * P + r) * D + e)];
            vc[static_cast<size_t>(((b * Hk + h) * present + r) * D + e)] =
                pv[static_cast<size_t>(((b * Hk + h) * P + r) * D + e)];
          }
        for (int64_t s = 0; s < S; ++s)
          for (int64_t e = 0; e < D; ++e) {
            kc[static_cast<size_t>(((b * Hk + h) * present + p + s) * D + e)] =
                k[static_cast<size_t>(((b * S + s) * Hk + h) * D + e)];
            vc[static_cast<size_t>(((b * Hk + h) * present + p + s) * D + e)] =
                v[static_cast<size_t>(((b * S + s) * Hk + h) * D + e)];
          }
      }
    }
    ReferenceAttention ref;
    ref.batch = B, ref.q_heads = H, ref.kv_heads = Hk, ref.q_rows = S, ref.kv_rows = present, ref.dim = ref.v_dim = D;
    ref.scale = 1.0 / std::sqrt(static_cast<double>(D));
    ref.causal = true, ref.query_offset = offset, ref.valid_keys = tokens, ref.window = window;
    const std::vector<double> want =
        testing::HeadsToRows(ref.Run(testing::RowsToHeads(q, B, S, H, D), kc, vc), B, H, S, D);
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_NEAR((*out)[0].data<float>()[i], want[i], 2e-5) << what << " output at " << i;
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t h = 0; h < Hk; ++h) {
        for (int64_t r = 0; r < tokens[static_cast<size_t>(b)]; ++r) {
          for (int64_t e = 0; e < D; ++e) {
            const size_t at = static_cast<size_t>(((b * Hk + h) * present + r) * D + e);
            ASSERT_EQ((*out)[1].data<float>()[at], kc[at]) << what << " present_key b" << b << " row " << r;
            ASSERT_EQ((*out)[2].data<float>()[at], vc[at]) << what << " present_value b" << b << " row " << r;
          }
        }
      }
    }
  }
}

// The GenAI shared buffer: past is already context-sized. Donated to the session, it is appended to in
// place and comes back as present (the same buffer); not donated, present is a new buffer. Both give the
// same attention output and the same cache rows.
TEST(GroupQueryAttentionTest, DonatedSharedBufferIsAppendedInPlace) {
  std::mt19937 rng(31);
  const int64_t Hk = 2, H = 4, D = 8, C = 16, P = 5;
  std::vector<float> q = RandomFloats(rng, H * D), k = RandomFloats(rng, Hk * D), v = RandomFloats(rng, Hk * D);
  std::vector<float> pk(static_cast<size_t>(Hk * C * D), 0.0f), pv = pk;
  for (int64_t h = 0; h < Hk; ++h) {
    for (int64_t i = 0; i < P * D; ++i) {
      pk[static_cast<size_t>(h * C * D + i)] = std::uniform_real_distribution<float>(-1, 1)(rng);
      pv[static_cast<size_t>(h * C * D + i)] = std::uniform_real_distribution<float>(-1, 1)(rng);
    }
  }
  auto run = [&](bool donate, Tensor& past_k) -> StatusOr<std::vector<Tensor>> {
    OneNodeModel m("GroupQueryAttention", 1, kMs);
    m.Input("query", F32({1, 1, H * D}, q)).Input("key", F32({1, 1, Hk * D}, k)).Input("value", F32({1, 1, Hk * D}, v));
    past_k = F32({1, Hk, C, D}, pk);
    m.Input("past_key", past_k).Input("past_value", F32({1, Hk, C, D}, pv));
    m.Input("seqlens_k", I32({1}, {static_cast<int32_t>(P)})).Input("total_sequence_length", I32({}, {P + 1}));
    m.Output("output", 3).Output("present_key", 4).Output("present_value", 4);
    m.Int("num_heads", H).Int("kv_num_heads", Hk);
    TS_RETURN_IF_ERROR(m.Load());
    if (donate) {
      Status unknown = m.session().DonateInputs({"past_keys"});
      if (unknown.ok() || unknown.message().find("no input named 'past_keys'") == std::string::npos) {
        return Internal("DonateInputs took an unknown name: " + unknown.message());
      }
      TS_RETURN_IF_ERROR(m.session().DonateInputs({"past_key", "past_value"}));
    }
    return m.RunLoaded();
  };
  Tensor plain_past, donated_past;
  auto plain = run(false, plain_past);
  auto donated = run(true, donated_past);
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  ASSERT_TRUE(donated.ok()) << donated.status().message();
  EXPECT_NE((*plain)[1].raw_data(), plain_past.raw_data());
  EXPECT_EQ((*donated)[1].raw_data(), donated_past.raw_data()) << "present_key is not the donated buffer";
  ASSERT_EQ((*donated)[1].shape(), (Shape{1, Hk, C, D}));
  for (int64_t i = 0; i < H * D; ++i) EXPECT_EQ((*plain)[0].data<float>()[i], (*donated)[0].data<float>()[i]);
  for (int64_t h = 0; h < Hk; ++h) {
    for (int64_t i = 0; i < (P + 1) * D; ++i) {
      const int64_t at = h * C * D + i;
      EXPECT_EQ((*plain)[1].data<float>()[at], (*donated)[1].data<float>()[at]) << "key row " << i / D;
      EXPECT_EQ((*plain)[2].data<float>()[at], (*donated)[2].data<float>()[at]) << "value row " << i / D;
    }
  }
}

TEST(GroupQueryAttentionTest, BadInputsAreRejectedWithTheirNames) {
  std::mt19937 rng(5);
  auto gqa = [&](const Tensor& seqlens, int64_t heads) {
    return OneNodeModel("GroupQueryAttention", 1, kMs)
        .Input("query", F32({1, 2, 16}, RandomFloats(rng, 32)))
        .Input("key", F32({1, 2, 8}, RandomFloats(rng, 16)))
        .Input("value", F32({1, 2, 8}, RandomFloats(rng, 16)))
        .SkipInput()
        .SkipInput()
        .Input("seqlens_k", seqlens)
        .Input("total_sequence_length", I32({}, {2}))
        .Output("output", 3)
        .Int("num_heads", heads)
        .Int("kv_num_heads", 1)
        .Run();
  };
  auto int64_lengths = gqa(Tensor::FromVector(DType::kInt64, {1}, std::vector<int64_t>{1}), 2);
  ASSERT_FALSE(int64_lengths.ok());
  EXPECT_NE(int64_lengths.status().message().find("seqlens_k must be int32"), std::string::npos)
      << int64_lengths.status().message();
  auto too_long = gqa(I32({1}, {7}), 2);
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.status().message().find("does not fit"), std::string::npos) << too_long.status().message();
  auto heads = gqa(I32({1}, {1}), 3);
  ASSERT_FALSE(heads.ok());
  EXPECT_NE(heads.status().message().find("hidden size"), std::string::npos) << heads.status().message();
  auto zero = gqa(I32({1}, {1}), 0);
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.status().message().find("num_heads"), std::string::npos) << zero.status().message();
}

// Packed QKV [B, S, H, 3, D] and packed KV [B, L, H, 2, D] give what the same values unpacked give.
TEST(MultiHeadAttentionTest, PackedFormsMatchUnpacked) {
  std::mt19937 rng(7);
  const int64_t B = 2, S = 5, H = 3, D = 8;
  std::vector<float> packed = RandomFloats(rng, B * S * H * 3 * D);
  std::vector<float> q, k, v;
  for (int64_t t = 0; t < B * S; ++t)
    for (int64_t h = 0; h < H; ++h)
      for (int slot = 0; slot < 3; ++slot)
        for (int64_t e = 0; e < D; ++e)
          (slot == 0 ? q : slot == 1 ? k : v).push_back(packed[static_cast<size_t>(((t * H + h) * 3 + slot) * D + e)]);
  auto plain = OneNodeModel("MultiHeadAttention", 1, kMs)
                   .Input("query", F32({B, S, H * D}, q))
                   .Input("key", F32({B, S, H * D}, k))
                   .Input("value", F32({B, S, H * D}, v))
                   .Output("output", 3)
                   .Int("num_heads", H)
                   .Run();
  auto qkv = OneNodeModel("MultiHeadAttention", 1, kMs)
                 .Input("query", F32({B, S, H, 3, D}, packed))
                 .Output("output", 3)
                 .Int("num_heads", H)
                 .Run();
  std::vector<float> kv;
  for (int64_t t = 0; t < B * S; ++t)
    for (int64_t h = 0; h < H; ++h)
      for (int slot = 0; slot < 2; ++slot)
        for (int64_t e = 0; e < D; ++e) kv.push_back((slot == 0 ? k : v)[static_cast<size_t>((t * H + h) * D + e)]);
  auto packed_kv = OneNodeModel("MultiHeadAttention", 1, kMs)
                       .Input("query", F32({B, S, H * D}, q))
                       .Input("key", F32({B, S, H, 2, D}, kv))
                       .Output("output", 3)
                       .Int("num_heads", H)
                       .Run();
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  ASSERT_TRUE(qkv.ok()) << qkv.status().message();
  ASSERT_TRUE(packed_kv.ok()) << packed_kv.status().message();
  for (int64_t i = 0; i < B * S * H * D; ++i) {
    ASSERT_NEAR((*qkv)[0].data<float>()[i], (*plain)[0].data<float>()[i], 1e-6) << i;
    ASSERT_NEAR((*packed_kv)[0].data<float>()[i], (*plain)[0].data<float>()[i], 1e-6) << i;
  }
}

TEST(MultiHeadAttentionTest, BadShapesAndAttributesAreRejected) {
  std::mt19937 rng(8);
  Tensor q = F32({1, 2, 8}, RandomFloats(rng, 16));
  auto heads = OneNodeModel("MultiHeadAttention", 1, kMs)
                   .Input("query", q)
                   .Input("key", q)
                   .Input("value", q)
                   .Output("output", 3)
                   .Int("num_heads", 0)
                   .Run();
  ASSERT_FALSE(heads.ok());
  EXPECT_NE(heads.status().message().find("num_heads"), std::string::npos) << heads.status().message();
  auto bias = OneNodeModel("MultiHeadAttention", 1, kMs)
                  .Input("query", q)
                  .Input("key", q)
                  .Input("value", q)
                  .Input("bias", F32({5}, RandomFloats(rng, 5)))
                  .Output("output", 3)
                  .Int("num_heads", 2)
                  .Run();
  ASSERT_FALSE(bias.ok());
  EXPECT_NE(bias.status().message().find("bias [5]"), std::string::npos) << bias.status().message();
  auto mask = OneNodeModel("MultiHeadAttention", 1, kMs)
                  .Input("query", q)
                  .Input("key", q)
                  .Input("value", q)
                  .SkipInput()
                  .Input("key_padding_mask", I32({3}, {1, 1, 1}))
                  .Output("output", 3)
                  .Int("num_heads", 2)
                  .Run();
  ASSERT_FALSE(mask.ok());
  EXPECT_NE(mask.status().message().find("key_padding_mask"), std::string::npos) << mask.status().message();
}

TEST(BertAttentionTest, BadHiddenSizesAreRejected) {
  std::mt19937 rng(9);
  auto out = OneNodeModel("Attention", 1, kMs)
                 .Input("input", F32({1, 2, 4}, RandomFloats(rng, 8)))
                 .Input("weights", F32({4, 12}, RandomFloats(rng, 48)))
                 .Output("output", 3)
                 .Int("num_heads", 2)
                 .Ints("qkv_hidden_sizes", {4, 2, 6})
                 .Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("qkv_hidden_sizes"), std::string::npos) << out.status().message();
}

// ONNX RotaryEmbedding, [B, H, S, D] with position_ids, both pairings, against the formula.
TEST(RotaryEmbeddingTest, RandomInputsMatchFormula) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 12; ++trial) {
    const int64_t B = 1 + rng() % 2, H = 1 + rng() % 3, S = 1 + rng() % 6, D = 2 * (1 + rng() % 8),
                  R = trial % 3 ? D : D / 2 / 2 * 2;
    const int64_t rotary = R > 0 ? R : D, half = rotary / 2, positions = 10;
    const bool interleaved = trial % 2;
    std::vector<float> x = RandomFloats(rng, B * H * S * D), cos = RandomFloats(rng, positions * half),
                       sin = RandomFloats(rng, positions * half);
    std::vector<int64_t> ids(static_cast<size_t>(B * S));
    for (int64_t& id : ids) id = rng() % positions;
    OneNodeModel m("RotaryEmbedding", 23);
    m.Input("X", F32({B, H, S, D}, x))
        .Input("cos_cache", F32({positions, half}, cos))
        .Input("sin_cache", F32({positions, half}, sin))
        .Input("position_ids", Tensor::FromVector(DType::kInt64, {B, S}, ids))
        .Output("Y", 4)
        .Int("interleaved", interleaved);
    if (rotary != D) m.Int("rotary_embedding_dim", rotary);
    auto out = m.Run();
    ASSERT_TRUE(out.ok()) << out.status().message();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t s = 0; s < S; ++s) {
          const size_t row = static_cast<size_t>(((b * H + h) * S + s) * D);
          const int64_t p = ids[static_cast<size_t>(b * S + s)];
          for (int64_t i = 0; i < D; ++i) {
            double want = x[row + static_cast<size_t>(i)];
            if (i < rotary) {
              const int64_t pair = interleaved ? i / 2 : i % half;
              const int64_t a = interleaved ? 2 * pair : pair, c = interleaved ? 2 * pair + 1 : pair + half;
              const double cs = cos[static_cast<size_t>(p * half + pair)],
                           sn = sin[static_cast<size_t>(p * half + pair)];
              const double xa = x[row + static_cast<size_t>(a)], xc = x[row + static_cast<size_t>(c)];
              want = i == a ? xa * cs - xc * sn : xc * cs + xa * sn;
            }
            ASSERT_NEAR((*out)[0].data<float>()[row + static_cast<size_t>(i)], want, 1e-6)
                << "trial " << trial << " at " << i;
          }
        }
  }
}

TEST(RotaryEmbeddingTest, PositionOutsideTheCacheIsRejected) {
  std::mt19937 rng(10);
  auto out = OneNodeModel("RotaryEmbedding", 1, kMs)
                 .Input("input", F32({1, 2, 8}, RandomFloats(rng, 16)))
                 .Input("position_ids", Tensor::FromVector(DType::kInt64, {1, 2}, std::vector<int64_t>{0, 4}))
                 .Input("cos_cache", F32({4, 4}, RandomFloats(rng, 16)))
                 .Input("sin_cache", F32({4, 4}, RandomFloats(rng, 16)))
                 .Output("output", 3)
                 .Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("position id 4 is outside cos_cache's 4 positions"), std::string::npos)
      << out.status().message();
}

}  // namespace
}  // namespace tessera
