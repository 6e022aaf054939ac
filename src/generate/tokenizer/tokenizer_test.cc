// Unit tests of the Tokenizer facade: added-token splitting, post-processors, decoders, tokenizer_config
// handling and the errors of bad files. Parity with tokenizers.js on trained tokenizers is the
// tokenizer_parity ctest (tests/generate/).
#include "generate/tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "generate/text_codec.h"

namespace tessera::generate {
namespace {

std::vector<std::string> Texts(const std::vector<TextSection>& sections) {
  std::vector<std::string> out;
  for (const TextSection& s : sections) out.push_back(s.token ? "[" + s.text + "]" : s.text);
  return out;
}

TEST(AddedTokenSplitterTest, LongestMatchWinsAndNeighboursAreKept) {
  AddedToken a{"<a>", 10}, ab{"<a>b", 11};
  AddedTokenSplitter splitter({&a, &ab});
  EXPECT_EQ(Texts(splitter.Split("x<a>by<a>")), (std::vector<std::string>{"x", "[<a>b]", "y", "[<a>]"}));
  EXPECT_EQ(Texts(splitter.Split("plain")), (std::vector<std::string>{"plain"}));
}

TEST(AddedTokenSplitterTest, LstripAndRstripTrimTheWhitespaceBesideTheToken) {
  AddedToken mask{"<mask>", 5};
  mask.lstrip = mask.rstrip = true;
  AddedTokenSplitter splitter({&mask});
  EXPECT_EQ(Texts(splitter.Split("a \t<mask>  b")), (std::vector<std::string>{"a", "[<mask>]", "b"}));
}

TEST(AddedTokenSplitterTest, SingleWordTokenDoesNotMatchInsideAWord) {
  AddedToken word{"cat", 7};
  word.single_word = true;
  AddedTokenSplitter splitter({&word});
  EXPECT_EQ(Texts(splitter.Split("cats cat")), (std::vector<std::string>{"cats ", "[cat]"}));
}

// A tiny byte-level BPE file: one merge ("h i"), a special BOS and a non-special added token.
constexpr const char* kTinyByteLevel = R"({
  "added_tokens": [{"id": 5, "content": "<s>", "special": true},
                   {"id": 6, "content": "<tool>", "special": false, "normalized": false}],
  "normalizer": null,
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
  "post_processor": {"type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
    "special_tokens": {"<s>": {"id": "<s>", "ids": [5], "tokens": ["<s>"]}}},
  "decoder": {"type": "ByteLevel"},
  "model": {"type": "BPE", "vocab": {"h": 0, "i": 1, "hi": 2, "Ġ": 3, "!": 4}, "merges": ["h i"]}
})";

TEST(TokenizerTest, EncodeSplitsAddedTokensAndTemplateAddsBos) {
  auto tokenizer = Tokenizer::FromJson(kTinyByteLevel, "");
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().ToString();
  EXPECT_EQ((*tokenizer)->Encode("hi<tool>!", true), (std::vector<int32_t>{5, 2, 6, 4}));
  EXPECT_EQ((*tokenizer)->Encode("hi<tool>!", false), (std::vector<int32_t>{2, 6, 4}));
  EXPECT_EQ((*tokenizer)->vocab_size(), 7u);
}

TEST(TokenizerTest, DecodeSkipsOnlySpecialTokensAndKeepsAddedOnesVerbatim) {
  auto tokenizer = Tokenizer::FromJson(kTinyByteLevel, "");
  ASSERT_TRUE(tokenizer.ok());
  EXPECT_EQ(*(*tokenizer)->Decode({5, 2, 3, 6, 4}, true), "hi <tool>!");
  EXPECT_EQ(*(*tokenizer)->Decode({5, 2}, false), "<s>hi");
}

TEST(TokenizerTest, DecodeOfAnUnknownIdNamesIt) {
  auto tokenizer = Tokenizer::FromJson(kTinyByteLevel, "");
  ASSERT_TRUE(tokenizer.ok());
  auto text = (*tokenizer)->Decode({2, 99}, true);
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("token id 99"), std::string::npos) << text.status().message();
  EXPECT_FALSE((*tokenizer)->Decode({-1}, true).ok());
}

TEST(TokenizerTest, ConfigAddsBosOnlyWhenThePostProcessorDoesNot) {
  Json file = Json::parse(kTinyByteLevel);
  const std::string config = R"({"add_bos_token": true, "bos_token": {"content": "<s>"}})";
  auto with_template = Tokenizer::FromJson(file.dump(), config);
  ASSERT_TRUE(with_template.ok()) << with_template.status().ToString();
  EXPECT_EQ((*with_template)->Encode("hi", true), (std::vector<int32_t>{5, 2}));  // not twice
  file["post_processor"] = nullptr;
  auto without = Tokenizer::FromJson(file.dump(), config);
  ASSERT_TRUE(without.ok());
  EXPECT_EQ((*without)->Encode("hi", true), (std::vector<int32_t>{5, 2}));
  EXPECT_EQ((*without)->Encode("hi", false), (std::vector<int32_t>{2}));
  auto missing = Tokenizer::FromJson(file.dump(), R"({"add_eos_token": true, "eos_token": "</s>"})");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("eos_token"), std::string::npos) << missing.status().message();
}

TEST(TokenizerTest, InvalidUtf8InputIsReadAsReplacementCharacters) {
  auto tokenizer = Tokenizer::FromJson(kTinyByteLevel, "");
  ASSERT_TRUE(tokenizer.ok());
  // U+FFFD has no token here and no unk: its bytes are dropped, the rest still encodes.
  EXPECT_EQ((*tokenizer)->Encode("hi\xFF!", false), (std::vector<int32_t>{2, 4}));
}

TEST(TokenizerTest, BadFilesAreErrorsNamingTheProblem) {
  auto not_json = Tokenizer::FromJson("{not json", "");
  ASSERT_FALSE(not_json.ok());
  EXPECT_NE(not_json.status().message().find("not valid JSON"), std::string::npos);
  auto no_model = Tokenizer::FromJson(R"({"added_tokens": []})", "");
  ASSERT_FALSE(no_model.ok());
  EXPECT_NE(no_model.status().message().find("model is missing"), std::string::npos);
  Json file = Json::parse(kTinyByteLevel);
  file["decoder"] = Json::parse(R"({"type": "Foo"})");
  auto bad_decoder = Tokenizer::FromJson(file.dump(), "");
  ASSERT_FALSE(bad_decoder.ok());
  EXPECT_NE(bad_decoder.status().message().find("tokenizer.json: decoder.type 'Foo' is not supported"),
            std::string::npos)
      << bad_decoder.status().message();
  file = Json::parse(kTinyByteLevel);
  file["post_processor"] = Json::parse(R"({"type": "Bar"})");
  auto bad_post = Tokenizer::FromJson(file.dump(), "");
  ASSERT_FALSE(bad_post.ok());
  EXPECT_NE(bad_post.status().message().find("post_processor.type 'Bar'"), std::string::npos);
  file = Json::parse(kTinyByteLevel);
  file["added_tokens"][0]["id"] = "five";
  EXPECT_FALSE(Tokenizer::FromJson(file.dump(), "").ok());
  EXPECT_FALSE(Tokenizer::FromJson(kTinyByteLevel, "[1, 2]").ok());
  // 100000 nested arrays: refused before any builder recurses into them.
  file = Json::parse(kTinyByteLevel);
  file["decoder"] = Json::parse(R"({"type": "Fuse"})");
  std::string text = file.dump();
  text.insert(text.size() - 1, R"(, "extra": )" + std::string(100000, '[') + std::string(100000, ']'));
  auto too_deep = Tokenizer::FromJson(text, "");
  ASSERT_FALSE(too_deep.ok());
  EXPECT_NE(too_deep.status().message().find("levels deep"), std::string::npos) << too_deep.status().message();
  EXPECT_EQ(Tokenizer::Load("/nonexistent/tokenizer.json").status().code(), StatusCode::kNotFound);
}

std::vector<std::string> Decode(const char* config, std::vector<std::string> tokens) {
  auto decoder = MakeDecoder(Json::parse(config), nullptr, "tokenizer.json: decoder");
  EXPECT_TRUE(decoder.ok()) << decoder.status().ToString();
  return decoder.ok() ? (*decoder)->DecodeChain(std::move(tokens)) : std::vector<std::string>{};
}

TEST(DecoderTest, Llama2ChainJoinsBytesAndStripsTheFirstSpace) {
  const char* chain = R"({"type": "Sequence", "decoders": [
      {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"},
      {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]})";
  EXPECT_EQ(Decode(chain, {"▁caf", "<0xC3>", "<0xA9>", "▁ok"}), (std::vector<std::string>{"café ok"}));
  // A cut character becomes U+FFFD rather than invalid UTF-8.
  EXPECT_EQ(Decode(chain, {"▁a", "<0xC3>"}), (std::vector<std::string>{"a\xEF\xBF\xBD"}));
}

TEST(DecoderTest, MetaspaceWordPieceAndBpeSuffix) {
  EXPECT_EQ(Decode(R"({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always"})", {"▁Hi", "▁there"}),
            (std::vector<std::string>{"Hi", " there"}));
  EXPECT_EQ(Decode(R"({"type": "WordPiece", "prefix": "##", "cleanup": true})", {"un", "##able", "."}),
            (std::vector<std::string>{"un", "able", "."}));
  EXPECT_EQ(Decode(R"({"type": "BPEDecoder", "suffix": "</w>"})", {"hi</w>", "yo</w>"}),
            (std::vector<std::string>{"hi ", "yo"}));
}

TEST(DecoderTest, ByteLevelKeepsAddedTokensAsWritten) {
  const std::unordered_set<std::string> added{"<|eot id|>"};
  auto decoder = MakeDecoder(Json::parse(R"({"type": "ByteLevel"})"), &added, "tokenizer.json: decoder");
  ASSERT_TRUE(decoder.ok());
  EXPECT_EQ((*decoder)->DecodeChain({"Hi", "Ġyou", "<|eot id|>"}), (std::vector<std::string>{"Hi you", "<|eot id|>"}));
}

TEST(PostProcessorTest, BertAddsClsAndSepAndSequenceChains) {
  Vocabulary vocabulary;
  auto bert = MakePostProcessor(Json::parse(R"({"type": "Sequence", "processors": [{"type": "ByteLevel"},
      {"type": "BertProcessing", "cls": ["[CLS]", 101], "sep": ["[SEP]", 102]}]})"), vocabulary,
                                "tokenizer.json: post_processor");
  ASSERT_TRUE(bert.ok()) << bert.status().ToString();
  EXPECT_EQ((*bert)->Process({7, 8}, true), (std::vector<int32_t>{101, 7, 8, 102}));
  EXPECT_EQ((*bert)->Process({7, 8}, false), (std::vector<int32_t>{7, 8}));
  auto bad = MakePostProcessor(Json::parse(R"({"type": "BertProcessing", "cls": "[CLS]", "sep": ["[SEP]", 1]})"),
                               vocabulary, "tokenizer.json: post_processor");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("post_processor.cls"), std::string::npos);
}

TEST(TokenizerTest, CleanUpTokenizationSpacesGluesPunctuation) {
  EXPECT_EQ(CleanUpTokenizationSpaces("Hi , you 're here ."), "Hi, you're here.");
}

}  // namespace
}  // namespace tessera::generate

namespace tessera::generate {
namespace {

TEST(TextCodecTest, FolderWithoutTokenizerIsNotFoundAndOneWithItEncodes) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / "text_codec_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto none = LoadTextCodec(dir.string());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_NE(none.status().message().find("--prompt-ids"), std::string::npos);
  std::ofstream(dir / "tokenizer.json") << kTinyByteLevel;
  std::ofstream(dir / "tokenizer_config.json") << R"({"clean_up_tokenization_spaces": true})";
  auto codec = LoadTextCodec(dir.string());
  ASSERT_TRUE(codec.ok()) << codec.status().ToString();
  EXPECT_EQ(*(*codec)->Encode("hi!"), (std::vector<TokenId>{5, 2, 4}));  // BOS from the template
  EXPECT_EQ(*(*codec)->Decode({5, 2, 3, 4}), "hi !");  // special skipped; generated text is not cleaned up
  std::ofstream(dir / "tokenizer.json") << "{broken";
  auto broken = LoadTextCodec(dir.string());
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("tokenizer.json: not valid JSON"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tessera::generate

namespace tessera::generate {
namespace {

// Every component kind the facade reads, for the mutation test below.
constexpr const char* kEveryComponent = R"({
  "added_tokens": [{"id": 5, "content": "<s>", "special": true, "lstrip": true},
                   {"id": 6, "content": "<x>", "special": false, "normalized": true, "single_word": true}],
  "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"},
      {"type": "Replace", "pattern": {"Regex": " +"}, "content": " "}, {"type": "Prepend", "prepend": "▁"}]},
  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": "\\p{L}+|\\s+"}, "behavior": "Isolated", "invert": false},
      {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}]},
  "post_processor": {"type": "Sequence", "processors": [{"type": "ByteLevel"}, {"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
      "special_tokens": {"<s>": {"id": "<s>", "ids": [5], "tokens": ["<s>"]}}}]},
  "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
      {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
  "model": {"type": "BPE", "unk_token": "<unk>", "byte_fallback": true, "fuse_unk": true,
            "vocab": {"<unk>": 0, "▁": 1, "h": 2, "i": 3, "<0x21>": 4, "hi": 7, "▁hi": 8},
            "merges": ["h i", "▁ hi"]}
})";

void CollectPointers(const Json& value, const std::string& at, std::vector<std::string>& out) {
  out.push_back(at);
  if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) CollectPointers(it.value(), at + "/" + it.key(), out);
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) CollectPointers(value[i], at + "/" + std::to_string(i), out);
  }
}

TEST(TokenizerTest, MutatedFilesLoadOrFailButNeverCrash) {
  const Json original = Json::parse(kEveryComponent);
  auto intact = Tokenizer::FromJson(original.dump(), "");
  ASSERT_TRUE(intact.ok()) << intact.status().ToString();
  // "▁hi hi!" cut into ▁ hi " " hi !, each word then marked: ▁ ▁hi ▁ ▁hi ▁!, and ! by byte fallback.
  EXPECT_EQ((*intact)->Encode("hi  hi!", true), (std::vector<int32_t>{5, 1, 8, 1, 8, 1, 4}));
  std::vector<std::string> pointers;
  CollectPointers(original, "", pointers);
  const std::vector<Json> replacements = {nullptr, 0, -1, 1e30, "Foo", "", true, Json::array(), Json::object(),
                                          Json::array({1, "a"}), Json::object({{"type", "Foo"}})};
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  int loaded = 0;
  for (int trial = 0; trial < 400; ++trial) {
    Json mutated = original;
    for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0; --edits) {
      const std::string& at = pointers[rng() % pointers.size()];
      if (at.empty() || !mutated.contains(Json::json_pointer(at))) continue;
      mutated[Json::json_pointer(at)] = replacements[rng() % replacements.size()];
    }
    auto tokenizer = Tokenizer::FromJson(mutated.dump(), "");
    if (!tokenizer.ok()) {
      EXPECT_FALSE(tokenizer.status().message().empty()) << "seed " << seed << " trial " << trial;
      continue;
    }
    ++loaded;
    const std::vector<int32_t> ids = (*tokenizer)->Encode("hi <s> <x>hi\xF0\x9F\x9A\x80!", true);
    (void)(*tokenizer)->Decode(ids, true);
    (void)(*tokenizer)->Decode({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, false);
  }
  EXPECT_GT(loaded, 0) << "seed " << seed;
}

}  // namespace
}  // namespace tessera::generate
