// The com.microsoft shard rules on attention blocks built in memory: q/k/v projections, GroupQueryAttention
// (or MultiHeadAttention) over a past cache fed as head shards (TensorParallelOptions::sharded_io), o_proj. Split over tp ranks as
// threads, every rank's output must match the unsplit block and its present key/value must be the slice
// of the unsplit present that its heads own: EvenSplit of the key/value heads, or with more ranks than
// key/value heads the head of the rank's group (EvenSplit(tp, kv_heads) ranks per group).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/tensor_slicing.h"
#include "parallel/comm/thread_communicator.h"
#include "parallel/tensor/shard_plan.h"
#include "parallel/tensor/tensor_parallel.h"
#include "runtime/session_factory.h"
#include "testing/onnx_builder.h"

namespace tessera {
namespace {

using testing::OnnxBuilder;
using Feeds = std::vector<std::pair<std::string, Tensor>>;

constexpr int64_t kHeadSize = 4, kNew = 3, kPast = 5;

std::vector<float> Random(std::mt19937& rng, int64_t n) {
  std::normal_distribution<float> dist(0.0f, 0.5f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

std::string GroupQueryAttentionBlock(std::mt19937& rng, int64_t heads, int64_t kv_heads) {
  const int64_t d = heads * kHeadSize, dkv = kv_heads * kHeadSize;
  OnnxBuilder b(17);
  auto* microsoft = b.proto().add_opset_import();
  microsoft->set_domain("com.microsoft");
  microsoft->set_version(1);
  b.Input("x", DType::kFloat32, {1, kNew, d});
  b.Input("past_key", DType::kFloat32, {1, kv_heads, -1, kHeadSize});
  b.Input("past_value", DType::kFloat32, {1, kv_heads, -1, kHeadSize});
  b.Input("seqlens_k", DType::kInt32, {1});
  b.Input("total_seq_len", DType::kInt32, {});
  b.Initializer("wq", Random(rng, d * d), {d, d});
  b.Initializer("wk", Random(rng, d * dkv), {d, dkv});
  b.Initializer("wv", Random(rng, d * dkv), {d, dkv});
  b.Initializer("wo", Random(rng, d * d), {d, d});
  b.Node("MatMul", {"x", "wq"}, {"q"});
  b.Node("MatMul", {"x", "wk"}, {"k"});
  b.Node("MatMul", {"x", "wv"}, {"v"});
  auto& gqa = b.Node("GroupQueryAttention", {"q", "k", "v", "past_key", "past_value", "seqlens_k", "total_seq_len"},
                     {"attn", "present_key", "present_value"});
  gqa.set_domain("com.microsoft");
  OnnxBuilder::IntAttribute(gqa, "num_heads", heads);
  OnnxBuilder::IntAttribute(gqa, "kv_num_heads", kv_heads);
  b.Node("MatMul", {"attn", "wo"}, {"y"});
  b.Output("y", DType::kFloat32, {1, kNew, d});
  b.Output("present_key", DType::kFloat32, {1, kv_heads, -1, kHeadSize});
  b.Output("present_value", DType::kFloat32, {1, kv_heads, -1, kHeadSize});
  return b.WriteTemp();
}

// The same block with MultiHeadAttention (causal, past of kPast positions): kv_heads == heads.
std::string MultiHeadAttentionBlock(std::mt19937& rng, int64_t heads, int64_t /*kv_heads: the same*/) {
  const int64_t d = heads * kHeadSize;
  OnnxBuilder b(17);
  auto* microsoft = b.proto().add_opset_import();
  microsoft->set_domain("com.microsoft");
  microsoft->set_version(1);
  b.Input("x", DType::kFloat32, {1, kNew, d});
  b.Input("past_key", DType::kFloat32, {1, heads, -1, kHeadSize});
  b.Input("past_value", DType::kFloat32, {1, heads, -1, kHeadSize});
  for (const char* w : {"wq", "wk", "wv", "wo"}) b.Initializer(w, Random(rng, d * d), {d, d});
  b.Node("MatMul", {"x", "wq"}, {"q"});
  b.Node("MatMul", {"x", "wk"}, {"k"});
  b.Node("MatMul", {"x", "wv"}, {"v"});
  auto& mha = b.Node("MultiHeadAttention", {"q", "k", "v", "", "", "", "past_key", "past_value"},
                     {"attn", "present_key", "present_value"});
  mha.set_domain("com.microsoft");
  OnnxBuilder::IntAttribute(mha, "num_heads", heads);
  OnnxBuilder::IntAttribute(mha, "unidirectional", 1);
  b.Node("MatMul", {"attn", "wo"}, {"y"});
  b.Output("y", DType::kFloat32, {1, kNew, d});
  b.Output("present_key", DType::kFloat32, {1, heads, -1, kHeadSize});
  b.Output("present_value", DType::kFloat32, {1, heads, -1, kHeadSize});
  return b.WriteTemp();
}

// The key/value heads [begin, end) rank `rank` holds, by the rule the header states.
std::pair<int64_t, int64_t> KeyValueHeadsOf(int64_t kv_heads, int tp, int rank) {
  if (tp <= kv_heads) {
    const std::vector<int64_t> split = EvenSplit(kv_heads, tp);
    int64_t begin = 0;
    for (int r = 0; r < rank; ++r) begin += split[static_cast<size_t>(r)];
    return {begin, begin + split[static_cast<size_t>(rank)]};
  }
  const std::vector<int64_t> group_ranks = EvenSplit(tp, kv_heads);
  int64_t group = 0, first = 0;
  while (rank >= first + group_ranks[static_cast<size_t>(group)]) first += group_ranks[static_cast<size_t>(group++)];
  return {group, group + 1};
}

// GroupQueryAttention also takes the lengths; MultiHeadAttention reads them from the shapes.
Feeds FeedsWithPast(const Tensor& x, const Tensor& key, const Tensor& value, bool lengths) {
  Feeds feeds = {{"x", x}, {"past_key", key}, {"past_value", value}};
  if (lengths) {
    feeds.push_back({"seqlens_k", Tensor::FromVector(DType::kInt32, {1}, std::vector<int32_t>{kPast + kNew - 1})});
    feeds.push_back({"total_seq_len", Tensor::FromVector(DType::kInt32, {}, std::vector<int32_t>{kPast + kNew})});
  }
  return feeds;
}

void ExpectClose(const Tensor& want, const Tensor& got, const std::string& what) {
  ASSERT_EQ(want.shape(), got.shape()) << what;
  for (int64_t i = 0; i < want.element_count(); ++i) {
    const float w = want.data<float>()[i], g = got.data<float>()[i];
    ASSERT_NEAR(w, g, 1e-4f + 1e-4f * std::fabs(w)) << what << " element " << i;
  }
}

using BlockBuilder = std::string (*)(std::mt19937&, int64_t, int64_t);

void ExpectSplitMatches(int64_t heads, int64_t kv_heads, int tp, uint32_t seed,
                        BlockBuilder build = GroupQueryAttentionBlock) {
  std::mt19937 rng(seed);
  const std::string path = build(rng, heads, kv_heads);
  const bool lengths = build == GroupQueryAttentionBlock;
  const int64_t d = heads * kHeadSize;
  const Tensor x = Tensor::FromVector(DType::kFloat32, {1, kNew, d}, Random(rng, kNew * d));
  const Shape past_shape{1, kv_heads, kPast, kHeadSize};
  const Tensor key = Tensor::FromVector(DType::kFloat32, past_shape, Random(rng, ShapeElementCount(past_shape)));
  const Tensor value = Tensor::FromVector(DType::kFloat32, past_shape, Random(rng, ShapeElementCount(past_shape)));
  SessionOptions options;
  options.threads = 1;
  auto whole_session = Session::Load(path, options);
  ASSERT_TRUE(whole_session.ok()) << whole_session.status().ToString();
  auto whole = (*whole_session)->Run(FeedsWithPast(x, key, value, lengths));
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();

  const std::string what = "heads " + std::to_string(heads) + "/" + std::to_string(kv_heads) + " tp " +
                           std::to_string(tp) + " seed " + std::to_string(seed);
  std::vector<std::vector<Tensor>> split(static_cast<size_t>(tp));
  auto statuses = RunOnThreads(tp, [&](Communicator& comm) -> Status {
    TensorParallelOptions tp_options;
    tp_options.sharded_io = {"past_key", "past_value", "present_key", "present_value"};
    TS_ASSIGN_OR_RETURN(GraphRewrite rewrite, MakeTensorParallelRewrite(comm, tp_options));
    TS_ASSIGN_OR_RETURN(auto session, LoadSessionWithRewrite(path, options, rewrite));
    const auto [begin, end] = KeyValueHeadsOf(kv_heads, tp, comm.rank());
    TS_ASSIGN_OR_RETURN(Tensor my_key, SliceAlongAxis(key, 1, begin, end));
    TS_ASSIGN_OR_RETURN(Tensor my_value, SliceAlongAxis(value, 1, begin, end));
    TS_ASSIGN_OR_RETURN(split[static_cast<size_t>(comm.rank())], session->Run(FeedsWithPast(x, my_key, my_value, lengths)));
    return Status::Ok();
  });
  for (int r = 0; r < tp; ++r) {
    ASSERT_TRUE(statuses[static_cast<size_t>(r)].ok()) << what << ": " << statuses[static_cast<size_t>(r)].ToString();
    const auto& got = split[static_cast<size_t>(r)];
    ExpectClose((*whole)[0], got[0], what + " rank " + std::to_string(r) + " output");
    const auto [begin, end] = KeyValueHeadsOf(kv_heads, tp, r);
    for (size_t k : {1, 2}) {
      auto want = SliceAlongAxis((*whole)[k], 1, begin, end);
      ASSERT_TRUE(want.ok());
      auto own = want->Clone();
      ASSERT_TRUE(own.ok());
      ExpectClose(*own, got[k], what + " rank " + std::to_string(r) + (k == 1 ? " present key" : " present value"));
    }
  }
}

TEST(ContribShardRulesTest, GroupQueryAttentionSplitsByKeyValueHeads) {
  ExpectSplitMatches(8, 4, 2, 11);
  ExpectSplitMatches(6, 3, 3, 12);
  ExpectSplitMatches(8, 4, 3, 13);  // uneven: 2, 1, 1 key/value heads
}

TEST(ContribShardRulesTest, MoreRanksThanKeyValueHeadsReplicateThemInGroups) {
  ExpectSplitMatches(4, 2, 3, 21);  // groups of 2 and 1 ranks
  ExpectSplitMatches(4, 2, 4, 22);  // one query head per rank
  ExpectSplitMatches(6, 1, 3, 23);  // multi-query attention: one key/value head on every rank
}

TEST(ContribShardRulesTest, MultiHeadAttentionSplitsByHeads) {
  ExpectSplitMatches(4, 4, 2, 31, MultiHeadAttentionBlock);
  ExpectSplitMatches(5, 5, 3, 32, MultiHeadAttentionBlock);  // uneven: 2, 2, 1 heads
}

TEST(ContribShardRulesTest, RegionRangesOfAReplicatedBlock) {
  ShardRegion region;
  region.kv_replicated = true;
  region.q_heads = 12;
  region.kv_heads = 2;
  // tp 5: groups of 3 and 2 ranks; group 0's 6 query heads as 2/2/2, group 1's as 3/3.
  const std::vector<std::pair<int64_t, int64_t>> q_heads = {{0, 2}, {2, 4}, {4, 6}, {6, 9}, {9, 12}};
  for (int r = 0; r < 5; ++r) {
    const ShardRange q = RegionShardOfAxis(region, 12 * 64, false, 5, r);
    EXPECT_EQ(q.begin, q_heads[static_cast<size_t>(r)].first * 64) << "rank " << r;
    EXPECT_EQ(q.end, q_heads[static_cast<size_t>(r)].second * 64) << "rank " << r;
    const ShardRange kv = RegionShardOfAxis(region, 2, true, 5, r);
    EXPECT_EQ(kv.begin, r < 3 ? 0 : 1) << "rank " << r;
    EXPECT_EQ(kv.end, r < 3 ? 1 : 2) << "rank " << r;
  }
}

}  // namespace
}  // namespace tessera
