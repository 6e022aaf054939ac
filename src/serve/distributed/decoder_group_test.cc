// A decoder group's step message and a member's mirror, on the tiny bigram decoder in one process: the
// mirror driven by rank 0's messages holds the caches rank 0 holds, frees what rank 0 frees, and refuses
// malformed messages with a status.
#include "serve/distributed/decoder_group.h"

#include <gtest/gtest.h>

#include "testing/tiny_decoder_model.h"

namespace tessera::serve {
namespace {

std::unique_ptr<generate::DecoderModel> LoadTiny() {
  auto model = generate::DecoderModel::Load(generate::testing::WriteTinyDecoder(), {});
  EXPECT_TRUE(model.ok()) << model.status().message();
  return model.ok() ? std::move(model).value() : nullptr;
}

int64_t CacheBytes(const generate::Sequence& seq) {
  int64_t bytes = 0;
  for (const Tensor& t : seq.cache) bytes += static_cast<int64_t>(t.byte_size());
  return bytes;
}

TEST(DecoderGroupMirrorTest, MirrorHoldsRankZerosCachesAndFreesWhatRankZeroFrees) {
  auto leader = LoadTiny();
  auto member = LoadTiny();
  ASSERT_TRUE(leader && member);
  DecoderGroupMirror mirror(*member);
  generate::Sequence a, b;
  a.tokens = {1, 2, 3};
  b.tokens = {4};
  std::vector<generate::ScheduledRow> rows = {{7, &a}, {9, &b}};
  for (int step = 0; step < 4; ++step) {
    ASSERT_TRUE(mirror.Apply(EncodeDecoderStep(rows, {})).ok());
    ASSERT_TRUE(leader->Step({&a, &b}).ok());
    a.tokens.push_back(static_cast<generate::TokenId>(5 + step));  // as if sampled on rank 0
    b.tokens.push_back(static_cast<generate::TokenId>(9 - step));
    EXPECT_EQ(mirror.sequences(), 2);
    EXPECT_EQ(mirror.cache_bytes(), CacheBytes(a) + CacheBytes(b));
  }
  rows = {{9, &b}};
  ASSERT_TRUE(mirror.Apply(EncodeDecoderStep(rows, {7})).ok());
  ASSERT_TRUE(leader->Step({&b}).ok());
  EXPECT_EQ(mirror.sequences(), 1);
  EXPECT_EQ(mirror.cache_bytes(), CacheBytes(b));
  ASSERT_TRUE(mirror.Apply(EncodeDecoderStep({}, {9})).ok());  // frees only: nothing steps
  EXPECT_EQ(mirror.sequences(), 0);
  EXPECT_EQ(mirror.cache_bytes(), 0);
}

TEST(DecoderGroupMirrorTest, MalformedMessagesAreRefusedWithAStatus) {
  auto member = LoadTiny();
  ASSERT_TRUE(member);
  DecoderGroupMirror mirror(*member);
  const std::vector<std::vector<int64_t>> bad = {
      {},                 // no count of freed sequences
      {2, 1},             // ends inside the freed ids
      {0},                // no count of rows
      {0, 1, 5},          // a row without its token count
      {0, 1, 5, 0},       // a row of no tokens
      {0, 1, 5, 3, 1},    // ends inside the row
      {0, 0, 42},         // values after the last row
      {-1, 0},            // a negative count
  };
  for (const auto& values : bad) {
    const int64_t n = static_cast<int64_t>(values.size());
    Status s = mirror.Apply(Tensor::FromVector<int64_t>(DType::kInt64, {n}, values));
    EXPECT_EQ(s.code(), StatusCode::kInternal) << "message of " << n << " values";
  }
  Status wrong_type = mirror.Apply(Tensor::FromVector<float>(DType::kFloat32, {1}, {0.f}));
  EXPECT_EQ(wrong_type.code(), StatusCode::kInternal);
  EXPECT_EQ(mirror.sequences(), 0);
}

}  // namespace
}  // namespace tessera::serve
