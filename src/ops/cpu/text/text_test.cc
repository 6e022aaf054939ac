// The text ops through one-node models: StringNormalizer and TfIdfVectorizer on hand-checked cases plus
// inputs that must be rejected with an error.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/half.h"
#include "testing/one_node_model.h"
#include "testing/tensor_values.h"

namespace tessera {
namespace {

using namespace testing;  // NOLINT: the test vocabulary of testing/one_node_model.h and tensor_values.h

// --- StringNormalizer ---------------------------------------------------------------------------------

OneNodeModel Normalizer(const Tensor& x, int out_rank) {
  OneNodeModel m("StringNormalizer", 10);
  m.Input("x", x).Output("y", out_rank, DType::kString);
  return m;
}

TEST(SpecialStringNormalizerTest, CaseInsensitiveStopWordsAndUpperCase) {
  auto out = Normalizer(Str({1, 4}, {"Monday", "tuesday", "MONDAY", "straße"}), 2)
                 .String("case_change_action", "UPPER")
                 .Strings("stopwords", {"monday"})
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{1, 2}));
  EXPECT_EQ(StringValues((*out)[0]),
            (std::vector<std::string>{"TUESDAY", "STRAßE"}));  // sharp s has no one-letter upper case
}

TEST(SpecialStringNormalizerTest, CaseSensitiveKeepsOtherCasesAndLowersUnicode) {
  auto out = Normalizer(Str({4}, {"Monday", "monday", "ÄRGER", "ΣΟΦΙΑ"}), 1)
                 .String("case_change_action", "LOWER")
                 .Int("is_case_sensitive", 1)
                 .Strings("stopwords", {"monday"})
                 .Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(StringValues((*out)[0]), (std::vector<std::string>{"monday", "ärger", "σοφια"}));
}

TEST(SpecialStringNormalizerTest, EverythingFilteredGivesOneEmptyString) {
  auto out = Normalizer(Str({2}, {"a", "A"}), 1).Strings("stopwords", {"a"}).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(StringValues((*out)[0]), (std::vector<std::string>{""}));
}

TEST(SpecialStringNormalizerTest, BadShapeInvalidUtf8AndBadActionAreRejected) {
  EXPECT_FALSE(Normalizer(Str({2, 2}, {"a", "b", "c", "d"}), 2).Run().ok());
  EXPECT_FALSE(Normalizer(Str({1}, {std::string("\xC3", 1)}), 1).String("case_change_action", "UPPER").Run().ok());
  EXPECT_FALSE(Normalizer(Str({1}, {"a"}), 1).String("case_change_action", "TITLE").Run().ok());
}

// --- TfIdfVectorizer ----------------------------------------------------------------------------------

// Pool: 1-grams {1, 2}, 2-grams {(1, 2), (2, 1)}, written to coordinates 3, 2, 1, 0.
OneNodeModel TfIdf(const Tensor& x, int out_rank, const std::string& mode, int64_t min_gram, int64_t max_skip,
                       bool with_pool = true) {
  OneNodeModel m("TfIdfVectorizer", 9);
  m.Input("x", x)
      .Output("y", out_rank)
      .String("mode", mode)
      .Int("min_gram_length", min_gram)
      .Int("max_gram_length", 2)
      .Int("max_skip_count", max_skip)
      .Ints("ngram_counts", {0, 2})
      .Ints("ngram_indexes", {3, 2, 1, 0});
  if (with_pool) m.Ints("pool_int64s", {1, 2, 1, 2, 2, 1});
  return m;
}

TEST(SpecialTfIdfTest, CountsUnigramsOnceAndBigramsPerSkip) {
  // Row [1, 2, 1, 3, 2]: 1 twice, 2 twice; bigrams with gap 0: (1,2), (2,1); gap 1: (1,1) no, (2,3) no,
  // (1,2) yes; gap 2: (1,3) no, (2,2) no; gap 3: (1,2) yes.
  auto out = TfIdf(I64({5}, {1, 2, 1, 3, 2}), 1, "TF", 1, 3).Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectNear(FloatValues((*out)[0]), {1, 3, 2, 2});
}

TEST(SpecialTfIdfTest, BatchedInt32WithWeightsAndBigramsOnly) {
  const Tensor x = Tensor::FromVector(DType::kInt32, {2, 3}, std::vector<int32_t>{1, 2, 1, 2, 2, 2});
  auto idf = TfIdf(x, 2, "IDF", 2, 0).Floats("weights", {0.5f, 2, 3, 4}).Run();
  auto tfidf = TfIdf(x, 2, "TFIDF", 1, 0).Floats("weights", {0.5f, 2, 3, 4}).Run();
  ASSERT_TRUE(idf.ok() && tfidf.ok()) << idf.status().message() << tfidf.status().message();
  ExpectNear(FloatValues((*idf)[0]), {0.5, 2, 0, 0, 0, 0, 0, 0});
  ExpectNear(FloatValues((*tfidf)[0]), {0.5, 2, 3, 8, 0, 0, 9, 0});
}

TEST(SpecialTfIdfTest, StringPool) {
  OneNodeModel m("TfIdfVectorizer", 9);
  m.Input("x", Str({4}, {"a", "b", "a", "c"}))
      .Output("y", 1)
      .String("mode", "TF")
      .Int("min_gram_length", 1)
      .Int("max_gram_length", 2)
      .Int("max_skip_count", 0)
      .Ints("ngram_counts", {0, 2})
      .Ints("ngram_indexes", {0, 1, 2})
      .Strings("pool_strings", {"a", "c", "b", "a"});
  auto out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectNear(FloatValues((*out)[0]), {2, 1, 1});
}

TEST(SpecialTfIdfTest, MismatchedPoolAndInputAreRejected) {
  EXPECT_FALSE(TfIdf(Str({2}, {"1", "2"}), 1, "TF", 1, 0).Run().ok());     // strings against an int pool
  EXPECT_FALSE(TfIdf(I64({2}, {1, 2}), 1, "TF", 1, 0, false).Run().ok());  // no pool
  EXPECT_FALSE(
      TfIdf(I64({2}, {1, 2}), 1, "TF", 1, 0, false).Ints("pool_int64s", {1, 2, 1, 2, 2}).Run().ok());  // odd bigrams
  EXPECT_FALSE(
      TfIdf(I64({2}, {1, 2}), 1, "TF", 1, 0).Strings("pool_strings", {"a", "b", "a", "b", "b", "a"}).Run().ok());
  EXPECT_FALSE(TfIdf(I64({2}, {1, 2}), 1, "BM25", 1, 0).Run().ok());
}

}  // namespace
}  // namespace tessera
