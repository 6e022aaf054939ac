// The KV cache kept in place on the exported Optimum decoders (decoder_model.h, kv_cache_in_place.h):
// the same greedy tokens as the graph as written and as PyTorch, and one buffer per cache for the whole
// generation, so a decode step writes only the new rows (no Concat of the whole cache runs).
//
// Needs the models of tools/export_decoders.py in $TESSERA_DECODER_MODELS (ctest generate_runtime_batched
// sets it); without it the test skips.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "generate/decoder_model.h"
#include "generate/sampling.h"

namespace tessera::generate {
namespace {

class KvCacheInPlaceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(KvCacheInPlaceTest, GreedyTokensMatchAndTheCacheBufferNeverMoves) {
  const char* root = std::getenv("TESSERA_DECODER_MODELS");
  if (!root) GTEST_SKIP() << "set TESSERA_DECODER_MODELS to the exported decoder models";
  const std::string folder = std::string(root) + "/" + GetParam();
  std::ifstream in(folder + "/expected/greedy.json");
  if (!in) GTEST_SKIP() << "no " << folder << "/expected/greedy.json (export with tools/export_decoders.py)";
  nlohmann::json expected = nlohmann::json::parse(in);
  DecoderOptions options;
  options.threads = 2;
  auto in_place = DecoderModel::Load(folder, options);
  ASSERT_TRUE(in_place.ok()) << in_place.status().message();
  EXPECT_EQ((*in_place)->kv_cache_note(), "");
  ASSERT_TRUE((*in_place)->signature().cache_strided);
  options.kv_cache_in_place = false;
  auto as_written = DecoderModel::Load(folder, options);
  ASSERT_TRUE(as_written.ok()) << as_written.status().message();
  EXPECT_FALSE((*as_written)->signature().cache_strided);
  const size_t steps = expected["max_new_tokens"].get<size_t>();
  for (const auto& c : expected["cases"]) {
    if (c["input_ids"].size() != 1) continue;
    Sequence a, b;
    for (const auto& t : c["input_ids"][0]) a.tokens.push_back(t.get<int32_t>());
    b.tokens = a.tokens;
    std::vector<const void*> buffers;
    for (size_t step = 0; step < steps; ++step) {
      auto la = (*in_place)->Step({&a});
      auto lb = (*as_written)->Step({&b});
      ASSERT_TRUE(la.ok() && lb.ok()) << (la.ok() ? lb.status().message() : la.status().message());
      a.tokens.push_back(ArgMax((*la)[0]));
      b.tokens.push_back(ArgMax((*lb)[0]));
      ASSERT_EQ(a.cache.size(), b.cache.size());
      for (size_t k = 0; k < a.cache.size(); ++k) {
        // Logical length, same storage as the first step's.
        EXPECT_EQ(a.cache[k].shape(), b.cache[k].shape()) << "cache " << k << " step " << step;
        if (step == 0) buffers.push_back(a.cache[k].raw_data());
        EXPECT_EQ(a.cache[k].raw_data(), buffers[k]) << "cache " << k << " moved at step " << step;
      }
    }
    EXPECT_EQ(a.tokens, b.tokens) << GetParam() << " case " << c["name"];
    std::vector<int32_t> got(a.tokens.end() - static_cast<std::ptrdiff_t>(steps), a.tokens.end());
    EXPECT_EQ(got, c["new_tokens"][0].get<std::vector<int32_t>>()) << GetParam() << " case " << c["name"];
  }
}

INSTANTIATE_TEST_SUITE_P(Exported, KvCacheInPlaceTest, ::testing::Values("gpt2_tiny", "llama_tiny"));

TEST(KvCacheInPlaceFallbackTest, MergedDecoderSaysWhyItKeepsTheGraphsCache) {
  const char* root = std::getenv("TESSERA_DECODER_MODELS");
  if (!root) GTEST_SKIP() << "set TESSERA_DECODER_MODELS to the exported decoder models";
  auto model = DecoderModel::Load(std::string(root) + "/llama_tiny_merged", {});
  if (!model.ok()) GTEST_SKIP() << model.status().message();
  EXPECT_NE((*model)->kv_cache_note().find("merged decoder"), std::string::npos) << (*model)->kv_cache_note();
  EXPECT_FALSE((*model)->signature().cache_strided);
}

}  // namespace
}  // namespace tessera::generate
