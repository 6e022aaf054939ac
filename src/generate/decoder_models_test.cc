// Batched decoding on the exported decoder models against PyTorch's batched greedy reference.
//
// Needs the models of tools/export_decoders.py in $TESSERA_DECODER_MODELS (ctest generate_runtime_batched
// sets it; without it the test skips). Each prompt of the left-padded batch case starts as its own
// sequence; every decode step then runs both in one batch, their caches left-padded to the longer
// (step_batch.h), and the greedy tokens must equal the reference's for all 64 steps.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "generate/decoder_model.h"
#include "generate/sampling.h"

namespace tessera::generate {
namespace {

class DecoderModelsTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DecoderModelsTest, BatchedGreedyStepsMatchPyTorch) {
  const char* root = std::getenv("TESSERA_DECODER_MODELS");
  if (!root) GTEST_SKIP() << "set TESSERA_DECODER_MODELS to the exported decoder models";
  const std::string folder = std::string(root) + "/" + GetParam();
  std::ifstream in(folder + "/expected/greedy.json");
  if (!in) GTEST_SKIP() << "no " << folder << "/expected/greedy.json (export with tools/export_decoders.py)";
  nlohmann::json expected = nlohmann::json::parse(in);
  DecoderOptions options;
  options.threads = 2;
  auto model = DecoderModel::Load(folder, options);
  ASSERT_TRUE(model.ok()) << model.status().message();
  for (const auto& c : expected["cases"]) {
    const size_t rows = c["input_ids"].size();
    if (rows < 2) continue;
    std::vector<Sequence> seqs(rows);
    std::vector<Sequence*> batch;
    for (size_t r = 0; r < rows; ++r) {
      for (size_t i = 0; i < c["input_ids"][r].size(); ++i) {
        if (c["attention_mask"][r][i] == 1) seqs[r].tokens.push_back(c["input_ids"][r][i].get<int32_t>());
      }
      batch.push_back(&seqs[r]);
    }
    const size_t steps = expected["max_new_tokens"].get<size_t>();
    for (size_t step = 0; step < steps; ++step) {
      auto logits = (*model)->Step(batch);  // the prompts by length group, then every decode step batched
      ASSERT_TRUE(logits.ok()) << logits.status().message();
      for (size_t r = 0; r < rows; ++r) seqs[r].tokens.push_back(ArgMax((*logits)[r]));
    }
    for (size_t r = 0; r < rows; ++r) {
      std::vector<int32_t> got(seqs[r].tokens.end() - static_cast<std::ptrdiff_t>(steps), seqs[r].tokens.end());
      EXPECT_EQ(got, c["new_tokens"][r].get<std::vector<int32_t>>())
          << GetParam() << " case " << c["name"] << " row " << r << " (min margin " << c["min_margin"] << ")";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Exported, DecoderModelsTest, ::testing::Values("gpt2_tiny", "llama_tiny", "llama_tiny_merged", "llama_tiny_genai",
                                           "llama_tiny_genai_int4"));

}  // namespace
}  // namespace tessera::generate
