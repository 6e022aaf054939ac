// In-place KV caches stepping in batches (decoder_model.h, kv_cache_pool.h) on the exported Optimum
// decoders: sequences of different prompt lengths join and leave a running batch the way the scheduler
// feeds them, and each one's greedy tokens equal PyTorch's, its cache never moves, and a cache that
// would pass the context length is an error naming the sequence.
//
// Needs the models of tools/export_decoders.py in $TESSERA_DECODER_MODELS (ctest generate_runtime_batched
// sets it); without it the test skips.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>

#include "generate/decoder_model.h"
#include "generate/sampling.h"
#include "generate/scheduler.h"

namespace tessera::generate {
namespace {

struct Expected {
  std::vector<TokenId> prompt, new_tokens;
};

// The single-row cases of greedy.json (PyTorch's greedy tokens), or empty to skip.
std::vector<Expected> SingleRowCases(const std::string& folder, size_t& steps) {
  std::ifstream in(folder + "/expected/greedy.json");
  if (!in) return {};
  nlohmann::json expected = nlohmann::json::parse(in);
  steps = expected["max_new_tokens"].get<size_t>();
  std::vector<Expected> cases;
  for (const auto& c : expected["cases"]) {
    if (c["input_ids"].size() != 1) continue;
    cases.push_back({c["input_ids"][0].get<std::vector<TokenId>>(), c["new_tokens"][0].get<std::vector<TokenId>>()});
  }
  return cases;
}

class KvCacheBatchTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const char* root = std::getenv("TESSERA_DECODER_MODELS");
    if (!root) GTEST_SKIP() << "set TESSERA_DECODER_MODELS to the exported decoder models";
    folder_ = std::string(root) + "/" + GetParam();
    cases_ = SingleRowCases(folder_, steps_);
    if (cases_.size() < 3) GTEST_SKIP() << "no 3 single-row cases in " << folder_ << "/expected/greedy.json";
    DecoderOptions options;
    options.threads = 2;
    auto model = DecoderModel::Load(folder_, options);
    ASSERT_TRUE(model.ok()) << model.status().message();
    model_ = std::move(*model);
    ASSERT_EQ(model_->kv_cache_note(), "");
  }

  std::string folder_;
  std::vector<Expected> cases_;
  size_t steps_ = 0;
  std::unique_ptr<DecoderModel> model_;
};

TEST_P(KvCacheBatchTest, RowsJoiningAndLeavingGetPyTorchsTokensAndKeepTheirBuffers) {
  // Three prompts of different lengths; sequence k joins at step join[k] (its prompt runs in that step
  // beside the others' decode tokens) and leaves once it has its tokens; later ones get fewer steps, so
  // the rows leave at different steps too.
  const size_t join[3] = {0, 3, 7};
  std::vector<std::unique_ptr<Sequence>> seqs(3);
  std::vector<size_t> wanted(3);
  std::vector<std::vector<const void*>> buffers(3);
  for (size_t step = 0;; ++step) {
    std::vector<Sequence*> batch;
    std::vector<size_t> which;
    for (size_t k = 0; k < 3; ++k) {
      if (step == join[k]) {
        seqs[k] = std::make_unique<Sequence>();
        seqs[k]->tokens = cases_[k].prompt;
        wanted[k] = steps_ - 2 * join[k];
      }
      if (!seqs[k] || seqs[k]->tokens.size() - cases_[k].prompt.size() >= wanted[k]) continue;
      batch.push_back(seqs[k].get());
      which.push_back(k);
    }
    if (batch.empty()) break;
    auto logits = model_->Step(batch);
    ASSERT_TRUE(logits.ok()) << logits.status().message();
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i]->tokens.push_back(ArgMax((*logits)[i]));
      const size_t k = which[i];
      for (size_t c = 0; c < batch[i]->cache.size(); ++c) {
        if (buffers[k].size() <= c) buffers[k].push_back(batch[i]->cache[c].raw_data());
        EXPECT_EQ(batch[i]->cache[c].raw_data(), buffers[k][c]) << "sequence " << k << " cache " << c << " moved";
      }
    }
  }
  for (size_t k = 0; k < 3; ++k) {
    std::vector<TokenId> got(seqs[k]->tokens.begin() + static_cast<std::ptrdiff_t>(cases_[k].prompt.size()),
                             seqs[k]->tokens.end());
    std::vector<TokenId> want(cases_[k].new_tokens.begin(),
                              cases_[k].new_tokens.begin() + static_cast<std::ptrdiff_t>(wanted[k]));
    EXPECT_EQ(got, want) << GetParam() << " sequence " << k << " (prompt of " << cases_[k].prompt.size() << ")";
  }
}

TEST_P(KvCacheBatchTest, ABatchedStepEqualsEachRowAlone) {
  // The same three sequences stepped together and one by one give the same logits (to rounding).
  std::vector<Sequence> together(3), alone(3);
  for (size_t k = 0; k < 3; ++k) together[k].tokens = alone[k].tokens = cases_[k].prompt;
  for (size_t k = 0; k < 3; ++k) {  // prompts apart (their lengths differ), then decode steps together
    ASSERT_TRUE(model_->Step({&together[k]}).ok());
    auto first = model_->Step({&alone[k]});
    ASSERT_TRUE(first.ok());
    together[k].tokens.push_back(ArgMax(*first->data()));
    alone[k].tokens.push_back(ArgMax(*first->data()));
  }
  for (size_t step = 0; step < 8; ++step) {
    auto batched = model_->Step({&together[0], &together[1], &together[2]});
    ASSERT_TRUE(batched.ok()) << batched.status().message();
    for (size_t k = 0; k < 3; ++k) {
      auto one = model_->Step({&alone[k]});
      ASSERT_TRUE(one.ok()) << one.status().message();
      ASSERT_EQ((*one)[0].size(), (*batched)[k].size());
      for (size_t v = 0; v < (*one)[0].size(); ++v) {
        ASSERT_NEAR((*one)[0][v], (*batched)[k][v], 1e-4f) << "sequence " << k << " step " << step << " logit " << v;
      }
      together[k].tokens.push_back(ArgMax((*one)[0]));
      alone[k].tokens.push_back(ArgMax((*one)[0]));
    }
  }
}

TEST_P(KvCacheBatchTest, ACacheThatWouldPassTheContextIsAnErrorNamingTheSequence) {
  const int64_t context = model_->defaults().context_length;
  Sequence fits, full;
  fits.tokens = cases_[0].prompt;
  full.tokens.assign(static_cast<size_t>(context) + 1, cases_[0].prompt[0]);
  auto logits = model_->Step({&fits, &full});
  ASSERT_FALSE(logits.ok());
  EXPECT_NE(logits.status().message().find("sequence 1: the KV cache is full: 0 cached + " +
                                           std::to_string(context + 1) + " new positions exceed the context length"),
            std::string::npos)
      << logits.status().message();
  // The sequence that fits still runs.
  EXPECT_TRUE(model_->Step({&fits}).ok());
}

TEST_P(KvCacheBatchTest, TheSchedulerStepsInPlaceSequencesTogetherWithPyTorchsTokens) {
  // Greedy requests of different lengths through continuous batching: each gets PyTorch's tokens; the
  // later ones ask for fewer, so rows leave while others run.
  SequenceScheduler scheduler(std::move(model_), nullptr, {.max_running = 3});
  std::vector<std::promise<StatusOr<GenerationResult>>> done(3);
  for (size_t k = 0; k < 3; ++k) {
    GenerationRequest r;
    r.prompt = cases_[k].prompt;
    r.max_new_tokens = static_cast<int64_t>(steps_ - 8 * k);
    r.stop_at_eos = false;
    auto ticket = scheduler.Submit(r, {nullptr, [&done, k](StatusOr<GenerationResult> res) {
                                         done[k].set_value(std::move(res));
                                       }});
    ASSERT_TRUE(ticket.ok()) << ticket.status().message();
  }
  for (size_t k = 0; k < 3; ++k) {
    auto result = done[k].get_future().get();
    ASSERT_TRUE(result.ok()) << result.status().message();
    std::vector<TokenId> want(cases_[k].new_tokens.begin(),
                              cases_[k].new_tokens.begin() + static_cast<std::ptrdiff_t>(steps_ - 8 * k));
    EXPECT_EQ(result->tokens, want) << GetParam() << " request " << k;
  }
}

INSTANTIATE_TEST_SUITE_P(Exported, KvCacheBatchTest, ::testing::Values("gpt2_tiny", "llama_tiny"));

}  // namespace
}  // namespace tessera::generate
