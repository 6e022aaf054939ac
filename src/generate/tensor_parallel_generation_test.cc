// Tensor-parallel and pipeline generation on the exported decoders: ranks as threads
// (parallel/comm/thread_communicator.h), each holding its slice of the weights and the KV cache of its
// heads (or its stage's layers and their cache), must choose the same greedy tokens as the model in one
// piece, on every rank.
//
// Needs the models of tools/export_decoders.py in $TESSERA_DECODER_MODELS (ctest generate_tp_threads sets
// it; without it the test skips).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "generate/decoder_model.h"
#include "generate/generation.h"
#include "parallel/comm/thread_communicator.h"

namespace tessera::generate {
namespace {

// `tp` ranks as a tensor-parallel group, or with `pipeline` as that many pipeline stages.
struct TpCase {
  std::string model;
  int tp;
  bool pipeline = false;
};

std::string CaseName(const ::testing::TestParamInfo<TpCase>& info) {
  return info.param.model + (info.param.pipeline ? "_pp" : "_tp") + std::to_string(info.param.tp);
}

class TensorParallelGenerationTest : public ::testing::TestWithParam<TpCase> {};

// The first reference prompt of the export (its unpadded ids).
std::vector<TokenId> ReferencePrompt(const std::string& folder) {
  std::ifstream in(folder + "/expected/greedy.json");
  if (!in) return {};
  const nlohmann::json expected = nlohmann::json::parse(in);
  const auto& c = expected["cases"][0];
  std::vector<TokenId> ids;
  for (size_t i = 0; i < c["input_ids"][0].size(); ++i) {
    if (c["attention_mask"][0][i] == 1) ids.push_back(c["input_ids"][0][i].get<TokenId>());
  }
  return ids;
}

StatusOr<std::vector<TokenId>> GreedyTokens(const std::string& folder, Communicator* group,
                                            const std::vector<TokenId>& prompt, bool pipeline = false) {
  DecoderOptions options;
  options.threads = 1;
  (pipeline ? options.pipeline_group : options.tensor_group) = group;
  TS_ASSIGN_OR_RETURN(std::unique_ptr<DecoderModel> model, DecoderModel::Load(folder, options));
  GenerationRequest request;
  request.prompt = prompt;
  request.max_new_tokens = 40;
  request.stop_at_eos = false;
  TS_ASSIGN_OR_RETURN(GenerationResult result, Generate(*model, request, nullptr, {}));
  return result.tokens;
}

TEST_P(TensorParallelGenerationTest, GreedyTokensEqualOneProcess) {
  const char* root = std::getenv("TESSERA_DECODER_MODELS");
  if (!root) GTEST_SKIP() << "set TESSERA_DECODER_MODELS to the exported decoder models";
  const std::string folder = std::string(root) + "/" + GetParam().model;
  const std::vector<TokenId> prompt = ReferencePrompt(folder);
  if (prompt.empty()) GTEST_SKIP() << "no " << folder << "/expected/greedy.json (export with tools/export_decoders.py)";
  auto whole = GreedyTokens(folder, nullptr, prompt);
  ASSERT_TRUE(whole.ok()) << whole.status().message();

  const int tp = GetParam().tp;
  std::vector<std::vector<TokenId>> per_rank(static_cast<size_t>(tp));
  std::vector<Status> statuses = RunOnThreads(tp, [&](Communicator& group) -> Status {
    TS_ASSIGN_OR_RETURN(per_rank[static_cast<size_t>(group.rank())],
                        GreedyTokens(folder, &group, prompt, GetParam().pipeline));
    return Status::Ok();
  });
  for (int r = 0; r < tp; ++r) {
    const Status& status = statuses[static_cast<size_t>(r)];
    ASSERT_TRUE(status.ok()) << "rank " << r << ": " << status.message();
    EXPECT_EQ(per_rank[static_cast<size_t>(r)], *whole) << GetParam().model << " tp=" << tp << " rank " << r;
  }
}

// The cache lives with its heads: after a step each rank's past key/value hold its share of the key/value
// heads (EvenSplit), which also proves the attention was split rather than computed whole.
TEST_P(TensorParallelGenerationTest, EachRankCachesOnlyItsHeads) {
  if (GetParam().pipeline) GTEST_SKIP() << "pipeline stages keep whole heads of their own layers";
  const char* root = std::getenv("TESSERA_DECODER_MODELS");
  if (!root) GTEST_SKIP() << "set TESSERA_DECODER_MODELS to the exported decoder models";
  const std::string folder = std::string(root) + "/" + GetParam().model;
  const std::vector<TokenId> prompt = ReferencePrompt(folder);
  if (prompt.empty()) GTEST_SKIP() << "no " << folder << "/expected/greedy.json";
  auto whole = DecoderModel::Load(folder, {});
  ASSERT_TRUE(whole.ok()) << whole.status().message();
  Sequence reference;
  reference.tokens = prompt;
  ASSERT_TRUE((*whole)->Step({&reference}).ok());
  ASSERT_FALSE(reference.cache.empty());
  const int tp = GetParam().tp;
  std::vector<Status> statuses = RunOnThreads(tp, [&](Communicator& group) -> Status {
    DecoderOptions options;
    options.threads = 1;
    options.tensor_group = &group;
    TS_ASSIGN_OR_RETURN(std::unique_ptr<DecoderModel> model, DecoderModel::Load(folder, options));
    Sequence seq;
    seq.tokens = prompt;
    TS_RETURN_IF_ERROR(model->Step({&seq}).status());
    for (size_t i = 0; i < seq.cache.size(); ++i) {
      const int64_t heads = reference.cache[i].dim(1);
      // More ranks than heads: each rank holds the one key/value head of its group.
      const int64_t mine = tp > heads ? 1 : heads / tp + (group.rank() < heads % tp ? 1 : 0);
      if (seq.cache[i].dim(1) != mine) {
        return Internal("rank " + std::to_string(group.rank()) + " cache " + std::to_string(i) + " holds " +
                        std::to_string(seq.cache[i].dim(1)) + " of " + std::to_string(heads) + " heads, not " +
                        std::to_string(mine));
      }
    }
    return Status::Ok();
  });
  for (const Status& s : statuses) EXPECT_TRUE(s.ok()) << s.message();
}

// The cache stays with its layers: after a step each stage holds the cache slots of its own layers, and
// together the stages hold each slot once. (Where the cut falls is the partitioner's cost model: gpt2_tiny's
// puts all four layers before its vocabulary projection.)
TEST_P(TensorParallelGenerationTest, EachStageCachesOnlyItsLayers) {
  if (!GetParam().pipeline) GTEST_SKIP() << "tensor-parallel ranks hold every layer";
  const char* root = std::getenv("TESSERA_DECODER_MODELS");
  if (!root) GTEST_SKIP() << "set TESSERA_DECODER_MODELS to the exported decoder models";
  const std::string folder = std::string(root) + "/" + GetParam().model;
  const std::vector<TokenId> prompt = ReferencePrompt(folder);
  if (prompt.empty()) GTEST_SKIP() << "no " << folder << "/expected/greedy.json";
  const int stages = GetParam().tp;
  std::vector<size_t> slots(static_cast<size_t>(stages));
  size_t whole_slots = 0;
  std::vector<Status> statuses = RunOnThreads(stages, [&](Communicator& group) -> Status {
    DecoderOptions options;
    options.threads = 1;
    options.pipeline_group = &group;
    TS_ASSIGN_OR_RETURN(std::unique_ptr<DecoderModel> model, DecoderModel::Load(folder, options));
    Sequence seq;
    seq.tokens = prompt;
    TS_RETURN_IF_ERROR(model->Step({&seq}).status());
    slots[static_cast<size_t>(group.rank())] = seq.cache.size();
    if (group.rank() == 0) whole_slots = model->signature().cache.size();
    return Status::Ok();
  });
  for (const Status& s : statuses) ASSERT_TRUE(s.ok()) << s.message();
  size_t total = 0;
  for (int r = 0; r < stages; ++r) {
    EXPECT_LE(slots[static_cast<size_t>(r)], whole_slots) << "stage " << r;
    total += slots[static_cast<size_t>(r)];
  }
  EXPECT_EQ(total, whole_slots);
}

// Three sequences stepped together go through the stages interleaved; each must get one process's
// greedy tokens.
TEST_P(TensorParallelGenerationTest, SequencesSteppedTogetherMatchOneProcess) {
  const char* root = std::getenv("TESSERA_DECODER_MODELS");
  if (!root) GTEST_SKIP() << "set TESSERA_DECODER_MODELS to the exported decoder models";
  const std::string folder = std::string(root) + "/" + GetParam().model;
  const std::vector<TokenId> prompt = ReferencePrompt(folder);
  if (prompt.empty()) GTEST_SKIP() << "no " << folder << "/expected/greedy.json";
  const std::vector<std::vector<TokenId>> prompts = {prompt, {prompt[0]}, {prompt[0], 7, 9}};
  auto run = [&](Communicator* group) -> StatusOr<std::vector<std::vector<TokenId>>> {
    DecoderOptions options;
    options.threads = 1;
    (GetParam().pipeline ? options.pipeline_group : options.tensor_group) = group;
    TS_ASSIGN_OR_RETURN(std::unique_ptr<DecoderModel> model, DecoderModel::Load(folder, options));
    std::vector<Sequence> seqs(prompts.size());
    std::vector<Sequence*> all;
    for (size_t i = 0; i < prompts.size(); ++i) {
      seqs[i].tokens = prompts[i];
      all.push_back(&seqs[i]);
    }
    for (int step = 0; step < 12; ++step) {
      TS_ASSIGN_OR_RETURN(auto logits, model->Step(all));
      for (size_t i = 0; i < seqs.size(); ++i) seqs[i].tokens.push_back(ArgMax(logits[i]));
    }
    std::vector<std::vector<TokenId>> tokens;
    for (const Sequence& s : seqs) tokens.push_back(s.tokens);
    return tokens;
  };
  auto whole = run(nullptr);
  ASSERT_TRUE(whole.ok()) << whole.status().message();
  const int ranks = GetParam().tp;
  std::vector<std::vector<std::vector<TokenId>>> per_rank(static_cast<size_t>(ranks));
  auto statuses = RunOnThreads(ranks, [&](Communicator& group) -> Status {
    TS_ASSIGN_OR_RETURN(per_rank[static_cast<size_t>(group.rank())], run(&group));
    return Status::Ok();
  });
  for (int r = 0; r < ranks; ++r) {
    ASSERT_TRUE(statuses[static_cast<size_t>(r)].ok()) << statuses[static_cast<size_t>(r)].message();
    EXPECT_EQ(per_rank[static_cast<size_t>(r)], *whole) << "rank " << r;
  }
}

// More ranks than a key/value group has query heads to divide (llama_tiny_genai: 8 query heads in 2 groups,
// so at most 8 ranks): every rank says so instead of hanging.
TEST(TensorParallelGenerationLimits, MoreRanksThanQueryHeadsFailsOnEveryRank) {
  const char* root = std::getenv("TESSERA_DECODER_MODELS");
  if (!root) GTEST_SKIP() << "set TESSERA_DECODER_MODELS to the exported decoder models";
  const std::string folder = std::string(root) + "/llama_tiny_genai";
  if (ReferencePrompt(folder).empty()) GTEST_SKIP() << "no " << folder << "/expected/greedy.json";
  std::vector<Status> statuses = RunOnThreads(9, [&](Communicator& group) -> Status {
    DecoderOptions options;
    options.threads = 1;
    options.tensor_group = &group;
    return DecoderModel::Load(folder, options).status();
  });
  for (const Status& s : statuses) {
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("cannot split over 9 ranks"), std::string::npos) << s.message();
  }
}

// The int4 tiny decoder's heads (16 wide) are half a quantization block (32): with more ranks than its 2
// key/value heads the attention block cannot be cut between heads, and every rank says so.
TEST(TensorParallelGenerationLimits, HeadsNarrowerThanQuantizationBlocksCannotBeReplicated) {
  const char* root = std::getenv("TESSERA_DECODER_MODELS");
  if (!root) GTEST_SKIP() << "set TESSERA_DECODER_MODELS to the exported decoder models";
  const std::string folder = std::string(root) + "/llama_tiny_genai_int4";
  if (ReferencePrompt(folder).empty()) GTEST_SKIP() << "no " << folder << "/expected/greedy.json";
  std::vector<Status> statuses = RunOnThreads(3, [&](Communicator& group) -> Status {
    DecoderOptions options;
    options.threads = 1;
    options.tensor_group = &group;
    return DecoderModel::Load(folder, options).status();
  });
  for (const Status& s : statuses) {
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("a head is not a whole number of its quantization blocks"), std::string::npos)
        << s.message();
  }
}

INSTANTIATE_TEST_SUITE_P(Exported, TensorParallelGenerationTest,
                         ::testing::Values(TpCase{"llama_tiny_genai", 2}, TpCase{"llama_tiny_genai_int4", 2},
                                           // 3 ranks, 2 key/value heads: replicated in groups of 2 and 1 ranks
                                           TpCase{"llama_tiny_genai", 3},
                                           TpCase{"llama_tiny_genai", 4},
                                           // Plain-op attention (Optimum exports): heads, cache and GQA repeat.
                                           TpCase{"llama_tiny", 2}, TpCase{"llama_tiny", 3},
                                           // Fused QKV projection and Split; 4 heads over 3 ranks: 2, 1, 1.
                                           TpCase{"gpt2_tiny", 2}, TpCase{"gpt2_tiny", 3},
                                           // Pipeline stages, each with its layers' cache: any decoder form.
                                           TpCase{"llama_tiny_genai", 2, true}, TpCase{"llama_tiny_genai_int4", 2, true},
                                           TpCase{"llama_tiny", 2, true}, TpCase{"gpt2_tiny", 2, true},
                                           TpCase{"llama_tiny", 3, true}),
                         CaseName);

}  // namespace
}  // namespace tessera::generate

namespace tessera::generate {
namespace {

// By hand: how far tp=2's logits drift from one process's, step by step, on $TESSERA_TP_MODEL (both fed
// one process's greedy tokens), against the step's top-2 margin.
TEST(TensorParallelGenerationDrift, DISABLED_LogitsAgainstOneProcess) {
  const char* folder = std::getenv("TESSERA_TP_MODEL");
  if (!folder) GTEST_SKIP() << "set TESSERA_TP_MODEL";
  const int steps = 24;
  // $TESSERA_TP_WHOLE_MODEL, when set, is the one-process side (e.g. the same weights at another accuracy_level).
  const char* whole_folder = std::getenv("TESSERA_TP_WHOLE_MODEL");
  auto run = [&](Communicator* group, std::vector<std::vector<float>>& logits, const std::vector<TokenId>& feed) {
    DecoderOptions options;
    options.threads = 1;
    options.tensor_group = group;
    const std::string path = group == nullptr && whole_folder ? whole_folder : folder;
    TS_ASSIGN_OR_RETURN(std::unique_ptr<DecoderModel> model, DecoderModel::Load(path, options));
    Sequence seq;
    seq.tokens = {1, 42};
    for (int i = 0; i < steps; ++i) {
      TS_ASSIGN_OR_RETURN(auto out, model->Step({&seq}));
      logits.push_back(out[0]);
      seq.tokens.push_back(feed.empty() ? ArgMax(out[0]) : feed[static_cast<size_t>(i)]);
    }
    return Status::Ok();
  };
  std::vector<std::vector<float>> whole;
  ASSERT_TRUE(run(nullptr, whole, {}).ok());
  std::vector<TokenId> feed;
  for (const auto& l : whole) feed.push_back(ArgMax(l));
  std::vector<std::vector<float>> split;
  const char* size = std::getenv("TESSERA_TP_SIZE");
  auto statuses = RunOnThreads(size ? std::atoi(size) : 2, [&](Communicator& g) -> Status {
    std::vector<std::vector<float>> mine;
    TS_RETURN_IF_ERROR(run(&g, mine, feed));
    if (g.rank() == 0) split = mine;
    return Status::Ok();
  });
  ASSERT_TRUE(statuses[0].ok()) << statuses[0].message();
  for (int i = 0; i < steps; ++i) {
    const auto& a = whole[static_cast<size_t>(i)];
    const auto& b = split[static_cast<size_t>(i)];
    float diff = 0, top = -1e30f, second = -1e30f, scale = 0;
    for (size_t j = 0; j < a.size(); ++j) {
      diff = std::max(diff, std::abs(a[j] - b[j]));
      scale = std::max(scale, std::abs(a[j]));
      if (a[j] > top) { second = top; top = a[j]; } else if (a[j] > second) { second = a[j]; }
    }
    std::printf("step %2d: max |diff| %.3g (max |logit| %.3g), top-2 margin %.3g, argmax %d vs %d\n", i, diff, scale,
                top - second, ArgMax(a), ArgMax(b));
  }
}

}  // namespace
}  // namespace tessera::generate
