// The runtime on a tiny in-memory decoder: the cache carries every fed token and position across steps,
// states come back each step, batched steps of sequences of different lengths equal separate steps, and
// the loop stops and refuses as generation.h says.
#include "generate/decoder_model.h"

#include <gtest/gtest.h>

#include "generate/generation.h"
#include "testing/tiny_decoder_model.h"

namespace tessera::generate {
namespace {

using testing::TinySuccessor;
using testing::WriteTinyDecoder;

std::unique_ptr<DecoderModel> LoadTiny(bool with_state = false, DType ids = DType::kInt64,
                                       DType floats = DType::kFloat32) {
  DecoderOptions options;
  options.threads = 1;
  auto model = DecoderModel::Load(WriteTinyDecoder(with_state, ids, floats), options);
  EXPECT_TRUE(model.ok()) << model.status().message();
  return model.ok() ? std::move(model).value() : nullptr;
}

std::vector<float> CacheRow(const Tensor& t) { return {t.data<float>(), t.data<float>() + t.element_count()}; }

TEST(DecoderModelTest, GreedyLoopFollowsTheModelAndTheCacheHoldsEveryToken) {
  auto model = LoadTiny();
  ASSERT_TRUE(model);
  GenerationRequest request;
  request.prompt = {1, 4, 9};
  request.max_new_tokens = 6;
  request.stop_at_eos = false;
  auto result = Generate(*model, request, nullptr, nullptr);
  ASSERT_TRUE(result.ok()) << result.status().message();
  int token = 9;
  for (int32_t got : result->tokens) {
    token = TinySuccessor(token);
    EXPECT_EQ(got, token);
  }
  EXPECT_EQ(result->tokens.size(), 6u);
  EXPECT_EQ(result->stop_reason, StopReason::kMaxNewTokens);

  Sequence seq;
  seq.tokens = {3, 5};
  ASSERT_TRUE(model->Step({&seq}).ok());
  seq.tokens.push_back(7);
  ASSERT_TRUE(model->Step({&seq}).ok());
  ASSERT_EQ(seq.cache.size(), 2u);
  EXPECT_EQ(CacheRow(seq.cache[0]), (std::vector<float>{3, 5, 7}));  // ids fed, prompt then decode
  EXPECT_EQ(CacheRow(seq.cache[1]), (std::vector<float>{0, 1, 2}));  // positions fed
  EXPECT_EQ(seq.cached, 3);
}

TEST(DecoderModelTest, HalfAndBFloat16CachesAndLogitsBatchLikeFloat32) {
  for (DType dtype : {DType::kFloat16, DType::kBFloat16}) {
    auto model = LoadTiny(false, DType::kInt64, dtype);
    ASSERT_TRUE(model);
    EXPECT_EQ(model->signature().logits_dtype, dtype);
    Sequence a, b;
    a.tokens = {1, 2, 3};
    b.tokens = {4};
    for (int step = 0; step < 3; ++step) {
      auto logits = model->Step({&a, &b});
      ASSERT_TRUE(logits.ok()) << DTypeName(dtype) << ": " << logits.status().message();
      a.tokens.push_back(ArgMax((*logits)[0]));
      b.tokens.push_back(ArgMax((*logits)[1]));
    }
    EXPECT_EQ(a.tokens[3], TinySuccessor(3)) << DTypeName(dtype);
    EXPECT_EQ(b.tokens, (std::vector<int32_t>{4, TinySuccessor(4), TinySuccessor(TinySuccessor(4)),
                                              TinySuccessor(TinySuccessor(TinySuccessor(4)))}));
    EXPECT_EQ(a.cache[0].dtype(), dtype);
    EXPECT_EQ(b.cache[1].shape(), (Shape{1, 1, 3, 1}));  // b's three positions, its padding dropped
  }
}

TEST(DecoderModelTest, FixedStatesComeBackEveryStep) {
  auto model = LoadTiny(/*with_state=*/true, DType::kInt32);
  ASSERT_TRUE(model);
  ASSERT_EQ(model->signature().cache.size(), 3u);
  EXPECT_FALSE(model->signature().cache[2].grows);
  Sequence seq;
  seq.tokens = {2};
  for (int step = 0; step < 4; ++step) {
    auto logits = model->Step({&seq});
    ASSERT_TRUE(logits.ok()) << logits.status().message();
    seq.tokens.push_back(ArgMax((*logits)[0]));
  }
  EXPECT_EQ(CacheRow(seq.cache[2]), (std::vector<float>{4, 4}));  // zeros, plus one per step
}

TEST(DecoderModelTest, BatchedStepOfUnequalSequencesEqualsSeparateSteps) {
  auto model = LoadTiny(/*with_state=*/true);
  ASSERT_TRUE(model);
  ASSERT_TRUE(model->signature().batch_dynamic);
  auto run = [&](bool batched) {
    Sequence a, b, c;
    a.tokens = {1, 2, 3, 4, 5};
    b.tokens = {6, 7};
    c.tokens = {8, 9};
    std::vector<std::vector<float>> last;
    EXPECT_TRUE(model->Step({&a}).ok());  // prompts of different lengths; then b and c share a prompt step
    EXPECT_TRUE(model->Step({&b, &c}).ok());
    for (int step = 0; step < 3; ++step) {
      for (Sequence* s : {&a, &b, &c}) s->tokens.push_back(static_cast<int32_t>(10 + step));
      if (batched) {
        auto logits = model->Step({&a, &b, &c});
        EXPECT_TRUE(logits.ok()) << logits.status().message();
        if (logits.ok()) last = *logits;
      } else {
        last.clear();
        for (Sequence* s : {&a, &b, &c}) last.push_back(model->Step({s}).value()[0]);
      }
    }
    std::vector<std::vector<float>> caches;
    for (Sequence* s : {&a, &b, &c}) {
      for (const Tensor& t : s->cache) caches.push_back(CacheRow(t));
    }
    return std::pair{last, caches};
  };
  auto [batched_logits, batched_caches] = run(true);
  auto [single_logits, single_caches] = run(false);
  EXPECT_EQ(batched_logits, single_logits);
  EXPECT_EQ(batched_caches, single_caches);
  EXPECT_EQ(batched_caches[0], (std::vector<float>{1, 2, 3, 4, 5, 10, 11, 12}));  // no padding kept
  EXPECT_EQ(batched_caches[4], (std::vector<float>{0, 1, 2, 3, 4}));  // b's positions ignore a's length
}

TEST(DecoderModelTest, StopTokenEndsGenerationAndIsKept) {
  auto model = LoadTiny();
  ASSERT_TRUE(model);
  GenerationRequest request;
  request.prompt = {0};
  request.max_new_tokens = 10;
  request.stop_tokens = {TinySuccessor(TinySuccessor(0))};
  auto result = Generate(*model, request, nullptr, nullptr);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->tokens, (std::vector<int32_t>{TinySuccessor(0), TinySuccessor(TinySuccessor(0))}));
  EXPECT_EQ(result->stop_reason, StopReason::kStopToken);
}

TEST(DecoderModelTest, PromptOutsideTheVocabularyOrEmptyIsRefused) {
  auto model = LoadTiny();
  ASSERT_TRUE(model);
  GenerationRequest request;
  request.prompt = {testing::kTinyVocab};
  auto result = Generate(*model, request, nullptr, nullptr);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("outside the vocabulary"), std::string::npos);
  request.prompt = {};
  EXPECT_FALSE(Generate(*model, request, nullptr, nullptr).ok());
}

TEST(DecoderModelTest, PromptPlusNewTokensBeyondTheContextIsRefusedBeforeRunning) {
  DecoderFiles files;
  files.defaults.context_length = 8;
  auto session = Session::Load(WriteTinyDecoder(), {});
  ASSERT_TRUE(session.ok());
  auto model = DecoderModel::FromSession(std::move(session).value(), files, {});
  ASSERT_TRUE(model.ok()) << model.status().message();
  GenerationRequest request;
  request.prompt = {1, 2, 3};
  request.max_new_tokens = 6;
  Status s = ValidateGenerationRequest(**model, request, nullptr);
  EXPECT_NE(s.message().find("context of model"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("at most 5 new tokens"), std::string::npos) << s.message();
  request.max_new_tokens = 5;
  EXPECT_TRUE(ValidateGenerationRequest(**model, request, nullptr).ok());
  request.stop_strings = {"."};
  EXPECT_FALSE(ValidateGenerationRequest(**model, request, nullptr).ok());  // stop strings need a tokenizer
}

TEST(DecoderModelTest, SeededSamplingRepeats) {
  auto model = LoadTiny();
  ASSERT_TRUE(model);
  GenerationRequest request;
  request.prompt = {1, 2};
  request.max_new_tokens = 12;
  request.stop_at_eos = false;
  request.sampling.temperature = 5.0f;  // flat enough that draws differ from greedy
  request.sampling.seed = 11;
  auto first = Generate(*model, request, nullptr, nullptr);
  auto second = Generate(*model, request, nullptr, nullptr);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->tokens, second->tokens);
}

}  // namespace
}  // namespace tessera::generate
