// The pooled form of com.tessera KvCacheAppend and CachedAttention (input `rows`, kv_cache_rows.h): each
// batch row writes and reads its own slot of a [slots, heads, capacity, dim] pool at its own length.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "ops/cpu/attention/attention_test_reference.h"
#include "testing/one_node_model.h"

namespace tessera {
namespace {

using testing::OneNodeModel;

Tensor Rows(const std::vector<int64_t>& slot_and_past) {
  const int64_t batch = static_cast<int64_t>(slot_and_past.size() / 2);
  return Tensor::FromVector<int64_t>(DType::kInt64, {batch, 2}, slot_and_past);
}

// A pool of `slots` x `heads` x `capacity` x `dim` floats, every value NaN (rows never written must
// never be read) unless set.
std::shared_ptr<Buffer> NanPool(int64_t slots, int64_t heads, int64_t capacity, int64_t dim) {
  auto buffer = Buffer::Allocate(static_cast<size_t>(slots * heads * capacity * dim) * sizeof(float));
  float* d = static_cast<float*>((*buffer)->data());
  std::fill(d, d + slots * heads * capacity * dim, std::numeric_limits<float>::quiet_NaN());
  return *buffer;
}

TEST(KvCacheRowsTest, EachRowAppendsAtItsOwnLengthInItsOwnSlot) {
  // 3 slots of 1 head x 4 positions x 2 dims; batch row 0 is slot 2 with 1 cached position, row 1 is
  // slot 0 with none. The step's logical past is the longer row's.
  auto pool = NanPool(3, 1, 4, 2);
  float* d = static_cast<float*>(pool->data());
  d[2 * 8 + 0] = 1, d[2 * 8 + 1] = 2;
  Tensor past(DType::kFloat32, {2, 1, 1, 2}, pool);
  Tensor fresh = Tensor::FromVector<float>(DType::kFloat32, {2, 1, 1, 2}, {5, 6, 7, 8});
  OneNodeModel m("KvCacheAppend", 1, "com.tessera");
  m.Input("past", past).Input("new", fresh).Input("rows", Rows({2, 1, 0, 0})).Output("present", 4);
  m.Int("capacity", 4);
  ASSERT_TRUE(m.Load().ok());
  ASSERT_TRUE(m.session().DonateInputs({"past"}).ok());
  auto out = m.RunLoaded();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{2, 1, 2, 2}));
  EXPECT_EQ((*out)[0].raw_data(), pool->data()) << "the output is the pool itself";
  EXPECT_EQ((std::vector<float>{d[16], d[17], d[18], d[19]}), (std::vector<float>{1, 2, 5, 6}));
  EXPECT_EQ((std::vector<float>{d[0], d[1]}), (std::vector<float>{7, 8}));
  EXPECT_TRUE(std::isnan(d[8])) << "slot 1 is no row's and stays untouched";
}

TEST(KvCacheRowsTest, APoolNotDonatedIsRefused) {
  auto pool = NanPool(1, 1, 4, 1);
  OneNodeModel m("KvCacheAppend", 1, "com.tessera");
  m.Input("past", Tensor(DType::kFloat32, {1, 1, 0, 1}, pool))
      .Input("new", Tensor::FromVector<float>(DType::kFloat32, {1, 1, 1, 1}, {1}))
      .Input("rows", Rows({0, 0}))
      .Output("present", 4)
      .Int("capacity", 4);
  auto out = m.Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("must be a donated buffer"), std::string::npos) << out.status().message();
}

TEST(KvCacheRowsTest, AFullRowIsTheContextErrorNamingTheRow) {
  auto pool = NanPool(2, 1, 3, 1);
  OneNodeModel m("KvCacheAppend", 1, "com.tessera");
  m.Input("past", Tensor(DType::kFloat32, {2, 1, 3, 1}, pool))
      .Input("new", Tensor::FromVector<float>(DType::kFloat32, {2, 1, 1, 1}, {1, 2}))
      .Input("rows", Rows({0, 1, 1, 3}))
      .Output("present", 4)
      .Int("capacity", 3);
  ASSERT_TRUE(m.Load().ok());
  ASSERT_TRUE(m.session().DonateInputs({"past"}).ok());
  auto out = m.RunLoaded();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("KV cache row 1: the KV cache is full: 3 cached + 1 new positions exceed "
                                        "the context length of 3 positions"),
            std::string::npos)
      << out.status().message();
}

TEST(KvCacheRowsTest, ASlotNamedTwiceIsRefused) {
  auto pool = NanPool(2, 1, 3, 1);
  OneNodeModel m("KvCacheAppend", 1, "com.tessera");
  m.Input("past", Tensor(DType::kFloat32, {2, 1, 0, 1}, pool))
      .Input("new", Tensor::FromVector<float>(DType::kFloat32, {2, 1, 1, 1}, {1, 2}))
      .Input("rows", Rows({1, 0, 1, 0}))
      .Output("present", 4)
      .Int("capacity", 3);
  auto out = m.Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("names slot 1, negative or already taken"), std::string::npos)
      << out.status().message();
}

TEST(KvCacheRowsTest, CachedAttentionReadsEachRowsSlotAndLengthAgainstTheLeftPaddedMask) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  // Grouped heads (4 query heads over 2 kv heads), 3 batch rows in slots 3, 0, 2 of a 4-slot pool with
  // 5, 1 and 3 cached positions, 2 new query rows each; unwritten pool rows are NaN.
  const int64_t slots = 4, heads = 4, kv_heads = 2, cap = 8, dim = 3, seq = 2;
  const std::vector<int64_t> slot = {3, 0, 2}, past = {5, 1, 3};
  const int64_t batch = 3, longest = 5, keys = longest + seq;
  auto k_pool = NanPool(slots, kv_heads, cap, dim), v_pool = NanPool(slots, kv_heads, cap, dim);
  std::vector<float> q = testing::RandomFloats(rng, batch * heads * seq * dim);
  // The reference sees left-padded contiguous caches: row b's keys start at column longest - past[b].
  testing::ReferenceAttention ref;
  ref.batch = batch, ref.q_heads = heads, ref.kv_heads = kv_heads, ref.q_rows = seq, ref.kv_rows = keys;
  ref.dim = ref.v_dim = dim, ref.scale = 0.5;
  std::vector<float> k_ref(static_cast<size_t>(batch * kv_heads * keys * dim), 0.0f), v_ref = k_ref;
  std::vector<float> mask(static_cast<size_t>(batch * seq * keys));
  ref.bias.assign(static_cast<size_t>(batch * heads * seq * keys), 0.0);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t pad = longest - past[static_cast<size_t>(b)];
    for (int64_t h = 0; h < kv_heads; ++h) {
      for (int64_t r = 0; r < past[static_cast<size_t>(b)] + seq; ++r) {
        for (int64_t e = 0; e < dim; ++e) {
          const size_t at = static_cast<size_t>(((slot[static_cast<size_t>(b)] * kv_heads + h) * cap + r) * dim + e);
          const size_t to = static_cast<size_t>(((b * kv_heads + h) * keys + pad + r) * dim + e);
          k_ref[to] = static_cast<float*>(k_pool->data())[at] = value(rng);
          v_ref[to] = static_cast<float*>(v_pool->data())[at] = value(rng);
        }
      }
    }
    for (int64_t i = 0; i < seq; ++i) {
      for (int64_t j = 0; j < keys; ++j) {
        // Padding hidden, then causality in the step's logical positions, then an arbitrary bias.
        const bool hidden = j < pad || j > longest + i;
        const float m = hidden ? -std::numeric_limits<float>::infinity() : value(rng);
        mask[static_cast<size_t>((b * seq + i) * keys + j)] = m;
        for (int64_t h = 0; h < heads; ++h) ref.bias[static_cast<size_t>(((b * heads + h) * seq + i) * keys + j)] = m;
      }
    }
  }
  OneNodeModel m("CachedAttention", 1, "com.tessera");
  m.Input("q", Tensor::FromVector<float>(DType::kFloat32, {batch, heads, seq, dim}, q))
      .Input("k", Tensor(DType::kFloat32, {batch, kv_heads, keys, dim}, k_pool))
      .Input("v", Tensor(DType::kFloat32, {batch, kv_heads, keys, dim}, v_pool))
      .SkipInput()
      .Input("mask", Tensor::FromVector<float>(DType::kFloat32, {batch, 1, seq, keys}, mask))
      .Input("rows", Rows({slot[0], past[0], slot[1], past[1], slot[2], past[2]}))
      .Output("y", 4)
      .Int("capacity", cap)
      .Float("scale", 0.5f);
  auto out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  const std::vector<double> want = ref.Run(q, k_ref, v_ref);
  ASSERT_EQ((*out)[0].shape(), (Shape{batch, heads, seq, dim}));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR((*out)[0].data<float>()[i], want[i], 1e-5) << "element " << i;
}

}  // namespace
}  // namespace tessera
