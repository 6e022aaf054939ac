// Unit tests of the tokenizer's pieces: UTF-8 handling, the byte table, regex splitting, BPE merges and
// Unigram Viterbi, WordPiece and BERT's normalizer and pre-tokenizer on small hand-made inputs.
#include <gtest/gtest.h>

#include <random>

#include "generate/tokenizer/bpe_model.h"
#include "generate/tokenizer/byte_level.h"
#include "generate/tokenizer/normalizer.h"
#include "generate/tokenizer/pre_tokenizer.h"
#include "generate/tokenizer/tokenizer_model.h"
#include "generate/tokenizer/unigram_model.h"
#include "generate/tokenizer/utf8.h"

namespace tessera::generate {
namespace {

TEST(Utf8Test, InvalidBytesBecomeOneReplacementPerMaximalSubpart) {
  // E2 82 is a truncated 3-byte sequence (one U+FFFD); FF is invalid on its own (another).
  EXPECT_EQ(DecodeUtf8("a\xE2\x82" "b\xFF"), (std::u32string{U'a', 0xFFFD, U'b', 0xFFFD}));
  EXPECT_FALSE(IsValidUtf8("\xC0\x80"));
  EXPECT_TRUE(IsValidUtf8("\xEF\xBF\xBD"));
  EXPECT_EQ(SanitizeUtf8("x\xED\xA0\x80"), "x\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(Utf8Test, RandomBytesNeverCrashAndSanitizeToValid) {
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 2000; ++trial) {
    std::string bytes(rng() % 24, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    ASSERT_TRUE(IsValidUtf8(SanitizeUtf8(bytes))) << "seed " << seed << " trial " << trial;
    ASSERT_EQ(EncodeUtf8(DecodeUtf8(SanitizeUtf8(bytes))), SanitizeUtf8(bytes)) << "seed " << seed;
  }
}

TEST(ByteLevelTest, TableRoundTripsEveryByte) {
  for (int b = 0; b < 256; ++b) {
    const std::u32string cp = DecodeUtf8(ByteToUnicode(static_cast<unsigned char>(b)));
    ASSERT_EQ(cp.size(), 1u);
    EXPECT_EQ(UnicodeToByte(cp[0]), static_cast<unsigned char>(b));
  }
  EXPECT_EQ(ByteLevelEncode(" "), "\xC4\xA0");  // Ġ
}

TEST(PreTokenizerTest, Gpt2PatternSplitsWordsAndSpaces) {
  auto pre = MakePreTokenizer(Json::parse(R"({"type":"ByteLevel","add_prefix_space":false,"use_regex":true})"),
                              "tokenizer.json: pre_tokenizer");
  ASSERT_TRUE(pre.ok()) << pre.status().ToString();
  std::vector<std::string> words;
  (*pre)->PreTokenize("Hi  you's 42!", true, words);
  EXPECT_EQ(words, (std::vector<std::string>{"Hi", "\xC4\xA0", "\xC4\xA0you", "'s", "\xC4\xA0" "42", "!"}));
}

TEST(PreTokenizerTest, MetaspaceSplitMergesMarkerWithNextWord) {
  auto pre = MakePreTokenizer(Json::parse(R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"always"})"),
                              "tokenizer.json: pre_tokenizer");
  ASSERT_TRUE(pre.ok());
  std::vector<std::string> words;
  (*pre)->PreTokenize("a  b", true, words);
  EXPECT_EQ(words, (std::vector<std::string>{"▁a", "▁", "▁b"}));
}

TEST(PreTokenizerTest, UnknownTypeIsAnErrorNamingIt) {
  auto pre = MakePreTokenizer(Json::parse(R"({"type":"Bogus"})"), "tokenizer.json: pre_tokenizer");
  ASSERT_FALSE(pre.ok());
  EXPECT_NE(pre.status().message().find("Bogus"), std::string::npos);
}

TEST(NormalizerTest, NfkcAndSequence) {
  auto norm = MakeNormalizer(Json::parse(R"({"type":"Sequence","normalizers":[{"type":"NFKC"},
      {"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]})"),
                             "tokenizer.json: normalizer");
  ASSERT_TRUE(norm.ok()) << norm.status().ToString();
  EXPECT_EQ((*norm)->Normalize("ﬁ x"), "▁fi▁x");
}

TEST(BpeModelTest, LowestRankMergesFirstAndMissingMergeIsNamed) {
  auto model = MakeBpeModel(Json::parse(R"({"type":"BPE","vocab":{"a":0,"b":1,"c":2,"ab":3,"bc":4,"abc":5},
      "merges":["b c","a b","a bc"]})"), "tokenizer.json: model");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::vector<int32_t> ids;
  (*model)->Encode("abc", ids);  // "b c" (rank 0) first, then "a bc"
  EXPECT_EQ(ids, (std::vector<int32_t>{5}));
  auto bad = MakeBpeModel(Json::parse(R"({"vocab":{"a":0},"merges":["a z"]})"), "tokenizer.json: model");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("model.merges[0]"), std::string::npos);
}

TEST(BpeModelTest, ByteFallbackSpellsUnknownCharacters) {
  Json config = Json::parse(R"({"vocab":{"<unk>":0,"a":1},"merges":[],"unk_token":"<unk>","byte_fallback":true})");
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    config["vocab"][name] = 2 + b;
  }
  auto model = MakeBpeModel(config, "tokenizer.json: model");
  ASSERT_TRUE(model.ok());
  std::vector<int32_t> ids;
  (*model)->Encode("a\xC3\xA9", ids);  // é = C3 A9
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 2 + 0xC3, 2 + 0xA9}));
}

TEST(BpeModelTest, LongWordEncodesQuickly) {
  Json config = Json::parse(R"({"vocab":{"a":0,"aa":1,"aaaa":2},"merges":["a a","aa aa"]})");
  auto model = MakeBpeModel(config, "tokenizer.json: model");
  ASSERT_TRUE(model.ok());
  std::vector<int32_t> ids;
  (*model)->Encode(std::string(200001, 'a'), ids);
  ASSERT_EQ(ids.size(), 50001u);
  EXPECT_EQ(ids.back(), 0);
}

TEST(UnigramModelTest, ViterbiPicksBestScoreAndFusesUnknowns) {
  auto model = MakeUnigramModel(Json::parse(R"({"type":"Unigram","unk_id":0,"vocab":[["<unk>",0],
      ["▁",-2],["▁ab",-3],["a",-2],["b",-2],["▁a",-1.5]]})"), "tokenizer.json: model");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::vector<int32_t> ids;
  (*model)->Encode("▁abxy", ids);
  EXPECT_EQ(ids, (std::vector<int32_t>{2, 0}));  // ▁ab (-3) beats ▁a+b (-3.5); x y fuse into one unk
}

}  // namespace
}  // namespace tessera::generate

namespace tessera::generate {
namespace {

TEST(WordPieceModelTest, LongestPiecesAndAWordWithAnUncoveredPartIsUnknown) {
  auto model = MakeTokenizerModel(Json::parse(R"({"type": "WordPiece", "unk_token": "[UNK]",
      "vocab": {"[UNK]": 0, "un": 1, "##aff": 2, "##able": 3, "u": 4, "##n": 5}})"), "tokenizer.json: model");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::vector<int32_t> ids;
  (*model)->Encode("unaffable", ids);
  (*model)->Encode("unx", ids);  // "##x" is missing: the whole word is [UNK]
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 2, 3, 0}));
  auto no_unk = MakeTokenizerModel(Json::parse(R"({"type": "WordPiece", "vocab": {"a": 0}})"), "tokenizer.json: model");
  ASSERT_FALSE(no_unk.ok());
  EXPECT_NE(no_unk.status().message().find("unk_token"), std::string::npos);
}

TEST(BertPiecesTest, NormalizerCleansPadsIdeographsAndPreTokenizerIsolatesPunctuation) {
  auto norm = MakeNormalizer(Json::parse(R"({"type": "BertNormalizer", "clean_text": true,
      "handle_chinese_chars": true, "strip_accents": null, "lowercase": true})"), "tokenizer.json: normalizer");
  ASSERT_TRUE(norm.ok()) << norm.status().ToString();
  EXPECT_EQ((*norm)->Normalize("Café\t東京\x01!"), "cafe  東  京 !");
  auto pre = MakePreTokenizer(Json::parse(R"({"type": "BertPreTokenizer"})"), "tokenizer.json: pre_tokenizer");
  ASSERT_TRUE(pre.ok());
  std::vector<std::string> words;
  (*pre)->PreTokenize("don't  stop$now", true, words);
  EXPECT_EQ(words, (std::vector<std::string>{"don", "'", "t", "stop", "$", "now"}));
}

}  // namespace
}  // namespace tessera::generate

namespace tessera::generate {
namespace {

TEST(NormalizerTest, PrecompiledIsNfkcWithSpacesAndControlsCleanedAndTheWaveDashKept) {
  auto norm = MakeNormalizer(Json::parse(R"({"type": "Precompiled", "precompiled_charsmap": "AAAA"})"),
                             "tokenizer.json: normalizer");
  ASSERT_TRUE(norm.ok()) << norm.status().ToString();
  EXPECT_EQ((*norm)->Normalize("ﬁ\x01\t①\u3000▁～"), "fi 1  ～");
}

}  // namespace
}  // namespace tessera::generate
