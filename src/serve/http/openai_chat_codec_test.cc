// DecodeChatConversation and the chat completion objects: the conversation a chat template reads.
#include "serve/http/openai_chat_codec.h"

#include <gtest/gtest.h>

namespace tessera::serve::http {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

StatusOr<CompletionRequest> Decode(const std::string& body, std::string& param) {
  return DecodeChatRequest(body, param);
}

TEST(OpenAiChatCodec, KeepsKeyOrderJoinsTextPartsAndParsesToolArguments) {
  std::string param;
  auto r = Decode(R"({"model": "m", "messages": [
      {"role": "user", "content": [{"type": "text", "text": "Describe"}, {"type": "text", "text": "this."}]},
      {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
        "function": {"name": "f", "arguments": "{\"z\": 1, \"a\": [true]}"}}]},
      {"role": "tool", "tool_call_id": "c1", "content": "done"}],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"b": 1, "a": 2}}}],
    "chat_template_kwargs": {"enable_thinking": false}})",
                  param);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const ordered_json& m = r->chat.messages;
  EXPECT_EQ(m[0]["content"], "Describe\nthis.");
  EXPECT_TRUE(m[1]["content"].is_null());
  EXPECT_EQ(m[1]["tool_calls"][0]["function"]["arguments"].dump(), R"({"z":1,"a":[true]})");
  EXPECT_EQ(m[2]["tool_call_id"], "c1");
  EXPECT_EQ(r->chat.tools[0]["function"]["parameters"].dump(), R"({"b":1,"a":2})");
  EXPECT_EQ(r->chat.variables["enable_thinking"], false);
}

TEST(OpenAiChatCodec, ArgumentsThatAreNotAJsonObjectStayText) {
  std::string param;
  auto r = Decode(R"({"model": "m", "messages": [{"role": "assistant", "content": null,
      "tool_calls": [{"function": {"name": "f", "arguments": "not json"}}]}]})",
                  param);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->chat.messages[0]["tool_calls"][0]["function"]["arguments"], "not json");
  EXPECT_TRUE(r->chat.tools.is_null());
}

TEST(OpenAiChatCodec, BadToolsAndKwargsNameTheirField) {
  std::string param;
  const std::string messages = R"("messages": [{"role": "user", "content": "x"}])";
  EXPECT_FALSE(Decode(R"({"model": "m", )" + messages + R"(, "tools": [{"type": "retrieval"}]})", param).ok());
  EXPECT_EQ(param, "tools");
  EXPECT_FALSE(Decode(R"({"model": "m", )" + messages + R"(, "chat_template_kwargs": [1]})", param).ok());
  EXPECT_EQ(param, "chat_template_kwargs");
  EXPECT_FALSE(
      Decode(R"({"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"function": {}}]}]})", param).ok());
  EXPECT_EQ(param, "messages");
}

TEST(OpenAiChatCodec, EncodesCompletionAndChunks) {
  CompletionChoice choice;
  choice.text = "héllo";
  choice.token_ids = {3, 4};
  choice.finish_reason = "stop";
  const json whole = json::parse(EncodeChatCompletion("chatcmpl-1", 5, "m", choice, {7, 2}));
  EXPECT_EQ(whole["object"], "chat.completion");
  EXPECT_EQ(whole["choices"][0]["message"], json({{"role", "assistant"}, {"content", "héllo"}}));
  EXPECT_EQ(whole["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(whole["usage"]["total_tokens"], 9);

  CompletionChoice delta;
  delta.text = "a";
  EXPECT_EQ(json::parse(EncodeChatChunk("c", 5, "m", &delta, true, nullptr))["choices"][0]["delta"],
            json({{"role", "assistant"}, {"content", "a"}}));
  EXPECT_EQ(json::parse(EncodeChatChunk("c", 5, "m", &delta, false, nullptr))["choices"][0]["delta"],
            json({{"content", "a"}}));
  const CompletionUsage usage{3, 1};
  const json usage_chunk = json::parse(EncodeChatChunk("c", 5, "m", nullptr, false, &usage));
  EXPECT_EQ(usage_chunk["choices"], json::array());
  EXPECT_EQ(usage_chunk["usage"]["prompt_tokens"], 3);
}

}  // namespace
}  // namespace tessera::serve::http
