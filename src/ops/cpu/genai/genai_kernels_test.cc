// The ONNX Runtime GenAI decoder kernels through one-node models against double-precision references on
// seeded random shapes (the seed is printed on failure), plus the attributes they refuse.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "testing/onnx_builder.h"
#include "tessera/session.h"

namespace tessera {
namespace {

using Feeds = std::vector<std::pair<std::string, Tensor>>;

// One node of `domain` with every input fed at run time; outputs declared with `out_ranks` symbolic dims.
struct OneNode {
  testing::OnnxBuilder b{17};
  onnx::NodeProto* node = nullptr;
  Feeds feeds;

  OneNode(const std::string& op, const std::string& domain, const Feeds& inputs,
          const std::vector<std::pair<std::string, int>>& outputs) {
    std::vector<std::string> in_names, out_names;
    for (const auto& [name, t] : inputs) {
      in_names.push_back(name);
      if (name.empty()) continue;
      b.Input(name, t.dtype(), t.shape());
      feeds.emplace_back(name, t);
    }
    for (const auto& [name, rank] : outputs) {
      out_names.push_back(name);
      if (!name.empty()) b.Output(name, DType::kFloat32, std::vector<int64_t>(static_cast<size_t>(rank), -1));
    }
    node = &b.Node(op, in_names, out_names);
    node->set_domain(domain);
    if (!domain.empty()) {
      auto* import = b.proto().add_opset_import();
      import->set_domain(domain);
      import->set_version(1);
    }
  }
  StatusOr<std::vector<Tensor>> Run() {
    auto session = Session::Load(b.WriteTemp(), {});
    if (!session.ok()) return session.status();
    return (*session)->Run(feeds);
  }
};

std::vector<float> Random(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

Tensor F32(const Shape& s, const std::vector<float>& v) { return Tensor::FromVector(DType::kFloat32, s, v); }

void ExpectNear(const Tensor& got, const std::vector<double>& want, double tol, const std::string& what) {
  ASSERT_EQ(static_cast<size_t>(got.element_count()), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got.data<float>()[i], want[i], tol) << what << " element " << i;
}

TEST(GenAiKernelsTest, SimplifiedLayerNormInTheDefaultDomainLoadsAndMatches) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const int64_t rows = 1 + rng() % 5, n = 1 + rng() % 40;
  auto x = Random(static_cast<size_t>(rows * n), rng), scale = Random(static_cast<size_t>(n), rng);
  OneNode m("SimplifiedLayerNormalization", "", {{"x", F32({rows, n}, x)}, {"scale", F32({n}, scale)}}, {{"y", 2}});
  testing::OnnxBuilder::IntAttribute(*m.node, "axis", -1);
  auto out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  std::vector<double> want;
  for (int64_t r = 0; r < rows; ++r) {
    double sq = 0;
    for (int64_t i = 0; i < n; ++i) sq += double(x[r * n + i]) * x[r * n + i];
    const double inv = 1.0 / std::sqrt(sq / n + 1e-5);
    for (int64_t i = 0; i < n; ++i) want.push_back(x[r * n + i] * inv * scale[i]);
  }
  ExpectNear((*out)[0], want, 1e-4, "y");
}

std::vector<double> RmsNormReference(const std::vector<double>& x, const std::vector<float>& gamma, float eps) {
  const size_t n = gamma.size();
  std::vector<double> y(x.size());
  for (size_t r = 0; r < x.size() / n; ++r) {
    double sq = 0;
    for (size_t i = 0; i < n; ++i) sq += x[r * n + i] * x[r * n + i];
    const double inv = 1.0 / std::sqrt(sq / static_cast<double>(n) + eps);
    for (size_t i = 0; i < n; ++i) y[r * n + i] = x[r * n + i] * inv * gamma[i];
  }
  return y;
}

TEST(GenAiKernelsTest, SkipSimplifiedLayerNormSumsAndNormalisesWithABroadcastSkip) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  const int64_t b = 1 + rng() % 3, s = 1 + rng() % 4, n = 2 + rng() % 30;
  auto x = Random(static_cast<size_t>(b * s * n), rng), skip = Random(static_cast<size_t>(s * n), rng);
  auto gamma = Random(static_cast<size_t>(n), rng), bias = Random(static_cast<size_t>(n), rng);
  OneNode m("SkipSimplifiedLayerNormalization", "com.microsoft",
            {{"x", F32({b, s, n}, x)}, {"skip", F32({s, n}, skip)}, {"gamma", F32({n}, gamma)}, {"bias", F32({n}, bias)}},
            {{"y", 3}, {"", 0}, {"", 0}, {"sum", 3}});
  testing::OnnxBuilder::FloatAttribute(*m.node, "epsilon", 1e-6f);
  auto out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  std::vector<double> sum;
  for (size_t i = 0; i < x.size(); ++i) sum.push_back(double(x[i]) + skip[i % skip.size()] + bias[i % n]);
  ExpectNear((*out)[1], sum, 1e-5, "input_skip_bias_sum");
  ExpectNear((*out)[0], RmsNormReference(sum, gamma, 1e-6f), 1e-4, "output");
}

TEST(GenAiKernelsTest, RotaryEmbeddingRotatesHalvesOrPairsAtEachPosition) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (int interleaved = 0; interleaved < 2; ++interleaved) {
    const int64_t b = 1 + rng() % 2, s = 1 + rng() % 5, heads = 1 + rng() % 3, half = 1 + rng() % 4, max_pos = 16;
    const int64_t d = 2 * half;
    auto x = Random(static_cast<size_t>(b * s * heads * d), rng);
    auto cos = Random(static_cast<size_t>(max_pos * half), rng), sin = Random(static_cast<size_t>(max_pos * half), rng);
    std::vector<int64_t> pos;
    for (int64_t i = 0; i < b * s; ++i) pos.push_back(static_cast<int64_t>(rng() % max_pos));
    OneNode m("RotaryEmbedding", "com.microsoft",
              {{"x", F32({b, s, heads * d}, x)}, {"pos", Tensor::FromVector(DType::kInt64, {b, s}, pos)},
               {"cos", F32({max_pos, half}, cos)}, {"sin", F32({max_pos, half}, sin)}},
              {{"y", 3}});
    testing::OnnxBuilder::IntAttribute(*m.node, "interleaved", interleaved);
    testing::OnnxBuilder::IntAttribute(*m.node, "num_heads", heads);
    auto out = m.Run();
    ASSERT_TRUE(out.ok()) << out.status().message();
    std::vector<double> want(x.size());
    for (int64_t bs = 0; bs < b * s; ++bs) {
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t base = (bs * heads + h) * d;
        for (int64_t i = 0; i < half; ++i) {
          const int64_t i1 = interleaved ? 2 * i : i, i2 = interleaved ? 2 * i + 1 : i + half;
          const double c = cos[pos[bs] * half + i], sn = sin[pos[bs] * half + i];
          want[base + i1] = x[base + i1] * c - x[base + i2] * sn;
          want[base + i2] = x[base + i2] * c + x[base + i1] * sn;
        }
      }
    }
    ExpectNear((*out)[0], want, 1e-5, interleaved ? "interleaved" : "rotate_half");
  }
}

TEST(GenAiKernelsTest, GroupQueryAttentionAppendsToThePastAndAttendsCausally) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (int64_t past : {int64_t{0}, int64_t{1} + static_cast<int64_t>(rng() % 6)}) {
    const int64_t b = 1 + rng() % 2, s = 1 + rng() % 4, kv = 1 + rng() % 2, group = 1 + rng() % 3, d = 2 + rng() % 6;
    const int64_t heads = kv * group, total = past + s;
    auto q = Random(static_cast<size_t>(b * s * heads * d), rng);
    auto k = Random(static_cast<size_t>(b * s * kv * d), rng), v = Random(static_cast<size_t>(b * s * kv * d), rng);
    auto pk = Random(static_cast<size_t>(b * kv * past * d), rng), pv = Random(static_cast<size_t>(b * kv * past * d), rng);
    OneNode m("GroupQueryAttention", "com.microsoft",
              {{"q", F32({b, s, heads * d}, q)}, {"k", F32({b, s, kv * d}, k)}, {"v", F32({b, s, kv * d}, v)},
               {"past_k", F32({b, kv, past, d}, pk)}, {"past_v", F32({b, kv, past, d}, pv)},
               {"seqlens", Tensor::FromVector(DType::kInt32, {b}, std::vector<int32_t>(size_t(b), int32_t(total - 1)))},
               {"total", Tensor::FromVector(DType::kInt32, {}, std::vector<int32_t>{int32_t(total)})}},
              {{"out", 3}, {"present_k", 4}, {"present_v", 4}});
    testing::OnnxBuilder::IntAttribute(*m.node, "num_heads", heads);
    testing::OnnxBuilder::IntAttribute(*m.node, "kv_num_heads", kv);
    auto out = m.Run();
    ASSERT_TRUE(out.ok()) << out.status().message();
    // present = concat(past, new) along the sequence.
    auto cat = [&](const std::vector<float>& old, const std::vector<float>& now) {
      std::vector<double> r;
      for (int64_t rb = 0; rb < b; ++rb) {
        for (int64_t h = 0; h < kv; ++h) {
          for (int64_t t = 0; t < past; ++t) {
            for (int64_t e = 0; e < d; ++e) r.push_back(old[((rb * kv + h) * past + t) * d + e]);
          }
          for (int64_t t = 0; t < s; ++t) {
            for (int64_t e = 0; e < d; ++e) r.push_back(now[((rb * s + t) * kv + h) * d + e]);
          }
        }
      }
      return r;
    };
    const std::vector<double> keys = cat(pk, k), values = cat(pv, v);
    ExpectNear((*out)[1], keys, 0, "present_key");
    ExpectNear((*out)[2], values, 0, "present_value");
    std::vector<double> want(q.size());
    for (int64_t rb = 0; rb < b; ++rb) {
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t kh = h / group;
        for (int64_t t = 0; t < s; ++t) {
          std::vector<double> w;
          double max_w = -1e300, sum = 0;
          for (int64_t j = 0; j <= past + t; ++j) {
            double dot = 0;
            for (int64_t e = 0; e < d; ++e) dot += q[((rb * s + t) * heads + h) * d + e] * keys[((rb * kv + kh) * total + j) * d + e];
            w.push_back(dot / std::sqrt(double(d)));
            max_w = std::max(max_w, w.back());
          }
          for (double& x : w) sum += (x = std::exp(x - max_w));
          for (int64_t e = 0; e < d; ++e) {
            double acc = 0;
            for (size_t j = 0; j < w.size(); ++j) acc += w[j] / sum * values[((rb * kv + kh) * total + int64_t(j)) * d + e];
            want[((rb * s + t) * heads + h) * d + e] = acc;
          }
        }
      }
    }
    ExpectNear((*out)[0], want, 1e-4, "past " + std::to_string(past));
  }
}

TEST(GenAiKernelsTest, MatMulNBitsDequantizesPackedNibblesWithOrWithoutZeroPoints) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  for (int zp_kind = 0; zp_kind < 3; ++zp_kind) {  // packed uint8, float32, absent (8)
    const int64_t m = 1 + rng() % 3, n = 1 + rng() % 5, block = 16, k = 1 + rng() % 50;
    const int64_t blocks = (k + block - 1) / block, zp_row = (blocks + 1) / 2;
    std::vector<uint8_t> q(static_cast<size_t>(n * blocks * block)), packed(q.size() / 2), zp_u8(static_cast<size_t>(n * zp_row));
    std::vector<float> zp_f(static_cast<size_t>(n * blocks)), scales = Random(static_cast<size_t>(n * blocks), rng);
    for (uint8_t& v : q) v = static_cast<uint8_t>(rng() % 16);
    for (size_t i = 0; i < packed.size(); ++i) packed[i] = static_cast<uint8_t>(q[2 * i] | (q[2 * i + 1] << 4));
    std::vector<int> zero(static_cast<size_t>(n * blocks), 8);
    for (int64_t r = 0; r < n; ++r) {
      for (int64_t kb = 0; kb < blocks; ++kb) {
        int& z = zero[static_cast<size_t>(r * blocks + kb)];
        if (zp_kind < 2) z = static_cast<int>(rng() % 16);
        zp_f[static_cast<size_t>(r * blocks + kb)] = static_cast<float>(z);
        zp_u8[static_cast<size_t>(r * zp_row + kb / 2)] |= static_cast<uint8_t>(kb % 2 ? z << 4 : z);
      }
    }
    auto a = Random(static_cast<size_t>(m * k), rng);
    Feeds in = {{"a", F32({m, k}, a)},
                {"b", Tensor::FromVector(DType::kUInt8, {n, blocks, block / 2}, packed)},
                {"scales", F32({n * blocks}, scales)}};
    if (zp_kind == 0) in.emplace_back("zp", Tensor::FromVector(DType::kUInt8, {n * zp_row}, zp_u8));
    if (zp_kind == 1) in.emplace_back("zp", F32({n * blocks}, zp_f));
    OneNode node("MatMulNBits", "com.microsoft", in, {{"y", 2}});
    testing::OnnxBuilder::IntAttribute(*node.node, "K", k);
    testing::OnnxBuilder::IntAttribute(*node.node, "N", n);
    testing::OnnxBuilder::IntAttribute(*node.node, "bits", 4);
    testing::OnnxBuilder::IntAttribute(*node.node, "block_size", block);
    auto out = node.Run();
    ASSERT_TRUE(out.ok()) << out.status().message();
    std::vector<double> want;
    for (int64_t r = 0; r < m; ++r) {
      for (int64_t c = 0; c < n; ++c) {
        double acc = 0;
        for (int64_t e = 0; e < k; ++e) {
          const size_t blk = static_cast<size_t>(c * blocks + e / block);
          acc += a[r * k + e] * (q[static_cast<size_t>(c * blocks * block + e)] - zero[blk]) * double(scales[blk]);
        }
        want.push_back(acc);
      }
    }
    ExpectNear((*out)[0], want, 1e-3, "zero point kind " + std::to_string(zp_kind));
  }
}

TEST(GenAiKernelsTest, GroupQueryAttentionWritesASharedBufferInPlace) {
  // past is a 6-position buffer holding 2 valid rows; one new token goes to position 2 of that buffer.
  const int64_t capacity = 6, d = 2;
  std::vector<float> past_k(capacity * d, 0.0f), past_v(capacity * d, 0.0f);
  for (int i = 0; i < 4; ++i) past_k[i] = past_v[i] = static_cast<float>(i + 1);
  Tensor pk = F32({1, 1, capacity, d}, past_k), pv = F32({1, 1, capacity, d}, past_v);
  OneNode m("GroupQueryAttention", "com.microsoft",
            {{"q", F32({1, 1, d}, {1, 0})}, {"k", F32({1, 1, d}, {9, 8})}, {"v", F32({1, 1, d}, {7, 6})},
             {"past_k", pk}, {"past_v", pv},
             {"seqlens", Tensor::FromVector(DType::kInt32, {1}, std::vector<int32_t>{2})},
             {"total", Tensor::FromVector(DType::kInt32, {}, std::vector<int32_t>{3})}},
            {{"out", 3}, {"present_k", 4}, {"present_v", 4}});
  testing::OnnxBuilder::IntAttribute(*m.node, "num_heads", 1);
  testing::OnnxBuilder::IntAttribute(*m.node, "kv_num_heads", 1);
  auto out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[1].raw_data(), pk.raw_data());  // present is the fed buffer itself: nothing copied
  EXPECT_EQ((*out)[1].shape(), (Shape{1, 1, capacity, d}));
  EXPECT_EQ(pk.data<float>()[4], 9.0f);
  EXPECT_EQ(pv.data<float>()[5], 6.0f);
  EXPECT_EQ(pk.data<float>()[6], 0.0f);  // positions past the valid ones untouched
  // Attention over the 3 valid keys (1,2), (3,4), (9,8) with query (1,0), scale 1/sqrt(2).
  double w[3] = {1, 3, 9}, sum = 0, want0 = 0;
  const double values0[3] = {1, 3, 7};
  for (int j = 0; j < 3; ++j) sum += (w[j] = std::exp(w[j] / std::sqrt(2.0)));
  for (int j = 0; j < 3; ++j) want0 += w[j] / sum * values0[j];
  EXPECT_NEAR((*out)[0].data<float>()[0], want0, 1e-5);
}

TEST(GenAiKernelsTest, GroupQueryAttentionRefusesBadHeadsAndRotary) {
  Feeds in = {{"q", F32({1, 1, 6}, std::vector<float>(6))}, {"k", F32({1, 1, 4}, std::vector<float>(4))},
              {"v", F32({1, 1, 4}, std::vector<float>(4))}};
  OneNode bad_heads("GroupQueryAttention", "com.microsoft", in, {{"out", 3}});
  testing::OnnxBuilder::IntAttribute(*bad_heads.node, "num_heads", 3);
  testing::OnnxBuilder::IntAttribute(*bad_heads.node, "kv_num_heads", 2);
  auto out = bad_heads.Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("multiple of kv_num_heads"), std::string::npos) << out.status().message();
  OneNode rotary("GroupQueryAttention", "com.microsoft", in, {{"out", 3}});
  testing::OnnxBuilder::IntAttribute(*rotary.node, "num_heads", 2);
  testing::OnnxBuilder::IntAttribute(*rotary.node, "kv_num_heads", 2);
  testing::OnnxBuilder::IntAttribute(*rotary.node, "do_rotary", 1);
  out = rotary.Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("do_rotary"), std::string::npos) << out.status().message();
}

}  // namespace
}  // namespace tessera
