// The generation loop with a text codec: streamed text, stop strings cut the text, stop tokens stay out of it.
#include "generate/generation.h"

#include <gtest/gtest.h>

#include "generate/token_stream.h"
#include "generate/tokenizer/utf8.h"
#include "testing/tiny_decoder_model.h"

namespace tessera::generate {
namespace {

using testing::TinySuccessor;

// Token t is the letter 'a' + t; token 0 is special (skipped when decoding).
class LetterCodec : public TextCodec {
 public:
  StatusOr<std::vector<TokenId>> Encode(const std::string& text) const override {
    std::vector<TokenId> ids;
    for (char c : text) ids.push_back(c - 'a');
    return ids;
  }
  StatusOr<std::string> Decode(const std::vector<TokenId>& ids) const override {
    std::string text;
    for (TokenId t : ids) {
      if (t != 0) text += static_cast<char>('a' + t);
    }
    return text;
  }
};

std::unique_ptr<DecoderModel> LoadTiny() {
  auto model = DecoderModel::Load(testing::WriteTinyDecoder(), {});
  EXPECT_TRUE(model.ok()) << model.status().message();
  return model.ok() ? std::move(model).value() : nullptr;
}

// Greedy successors of token 1: 4, 13, 8, 9, 12, 5, 0, 1, ... as letters e n i j m f.
std::string GreedyLetters(int first, int n) {
  std::string s;
  for (int t = first, i = 0; i < n; ++i) {
    t = TinySuccessor(t);
    if (t != 0) s += static_cast<char>('a' + t);
  }
  return s;
}

TEST(GenerationTest, StreamedTextIsTheDecodedTextIncludingTextHeldBackForAStopString) {
  auto model = LoadTiny();
  ASSERT_TRUE(model);
  LetterCodec codec;
  GenerationRequest request;
  request.prompt = {1};
  request.max_new_tokens = 5;
  request.stop_at_eos = false;
  request.stop_strings = {GreedyLetters(1, 5).substr(4) + "zz"};  // the last letter is held back, then flushed
  std::string streamed;
  auto result = Generate(*model, request, &codec, [&](TokenId, const std::string& text) { streamed += text; });
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->text, GreedyLetters(1, 5));
  EXPECT_EQ(streamed, result->text);
}

TEST(GenerationTest, StopStringCutsTheTextBeforeIt) {
  auto model = LoadTiny();
  ASSERT_TRUE(model);
  LetterCodec codec;
  const std::string full = GreedyLetters(1, 6);
  GenerationRequest request;
  request.prompt = {1};
  request.max_new_tokens = 20;
  request.stop_at_eos = false;
  request.stop_strings = {"zz", full.substr(3, 2)};
  std::string streamed;
  auto result = Generate(*model, request, &codec, [&](TokenId, const std::string& text) { streamed += text; });
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->stop_reason, StopReason::kStopString);
  EXPECT_EQ(result->text, full.substr(0, 3));
  EXPECT_EQ(streamed, result->text);
  EXPECT_EQ(result->tokens.size(), 5u);  // the tokens up to the one that completed the stop string
}

TEST(GenerationTest, StopTokenIsInTokensButNotInText) {
  auto model = LoadTiny();
  ASSERT_TRUE(model);
  LetterCodec codec;
  GenerationRequest request;
  request.prompt = {1};
  request.max_new_tokens = 20;
  request.stop_at_eos = false;
  request.stop_tokens = {TinySuccessor(TinySuccessor(1))};  // the second token, 'n'
  auto result = Generate(*model, request, &codec, nullptr);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->stop_reason, StopReason::kStopToken);
  EXPECT_EQ(result->tokens, (std::vector<TokenId>{TinySuccessor(1), TinySuccessor(TinySuccessor(1))}));
  EXPECT_EQ(result->text, GreedyLetters(1, 1));
}

}  // namespace
}  // namespace tessera::generate

namespace tessera::generate {
namespace {

// Token t is the byte t; text is those bytes read as UTF-8 with U+FFFD for what does not decode.
class ByteCodec : public TextCodec {
 public:
  StatusOr<std::vector<TokenId>> Encode(const std::string& text) const override {
    return std::vector<TokenId>(text.begin(), text.end());
  }
  StatusOr<std::string> Decode(const std::vector<TokenId>& ids) const override {
    return SanitizeUtf8(std::string(ids.begin(), ids.end()));
  }
};

// Regression: a character split over two tokens decodes as U+FFFD after the first; streaming it then left
// every later text unstreamed (the decoded text no longer extended what had been streamed).
TEST(TokenStreamTest, CharacterSplitOverTokensStreamsOnceComplete) {
  ByteCodec codec;
  GenerationRequest request;
  TokenStream stream(request, {}, &codec);
  std::string streamed, piece;
  for (TokenId t : {0x61, 0xC3, 0xA9, 0x62, 0xE6, 0x9D}) {  // a é b, then 2 of 3 bytes
    ASSERT_TRUE(stream.Add(t, piece).ok());
    streamed += piece;
  }
  EXPECT_EQ(streamed, "a\xC3\xA9" "b");  // the incomplete 3-byte character waits
  streamed += stream.Flush();
  EXPECT_EQ(streamed, stream.result().text);
  EXPECT_EQ(streamed, "a\xC3\xA9" "b\xEF\xBF\xBD");
}

}  // namespace
}  // namespace tessera::generate
