// /v1/chat/completions through the REST front end, over the tiny bigram decoder with a byte-per-token
// codec and a small chat template: the prompt is the template's text encoded without special tokens, the
// answer is OpenAI's chat.completion (or its chunks), and every refusal is a 400 naming the cause.
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "generate/decoder_model.h"
#include "serve/front_end.h"
#include "serve/generation_model.h"
#include "testing/tiny_decoder_model.h"

namespace tessera::serve {
namespace {

using generate::TokenId;
using generate::testing::TinySuccessor;
using nlohmann::json;

// Byte b is token b % 16 and token t decodes as 'a' + t. Encode adds a BOS (id 1), as a Llama tokenizer
// would; EncodeWithoutSpecialTokens does not, so a test can tell which one the prompt went through.
class ByteCodec : public generate::TextCodec {
 public:
  StatusOr<std::vector<TokenId>> Encode(const std::string& text) const override {
    std::vector<TokenId> ids = {1};
    for (unsigned char c : text) ids.push_back(c % generate::testing::kTinyVocab);
    return ids;
  }
  StatusOr<std::vector<TokenId>> EncodeWithoutSpecialTokens(const std::string& text) const override {
    std::vector<TokenId> ids = *Encode(text);
    ids.erase(ids.begin());
    return ids;
  }
  StatusOr<std::string> Decode(const std::vector<TokenId>& ids) const override {
    std::string text;
    for (TokenId id : ids) text += static_cast<char>('a' + id);
    return text;
  }
};

constexpr const char* kTemplate =
    "{{ bos_token }}{% for m in messages %}{% if m.role not in ['system', 'user', 'assistant'] %}"
    "{{ raise_exception('Unknown role: ' ~ m.role) }}{% endif %}<{{ m.role }}>{{ m.content }}{% endfor %}"
    "{% if add_generation_prompt %}<assistant>{% endif %}";

// The prompt kTemplate renders for one user message, and the text greedy decoding then produces.
std::string Rendered(const std::string& user) { return "^<user>" + user + "<assistant>"; }
std::string GreedyText(const std::string& prompt, int tokens) {
  std::string text;
  int t = static_cast<unsigned char>(prompt.back()) % generate::testing::kTinyVocab;
  for (int i = 0; i < tokens; ++i) {
    t = TinySuccessor(t);
    text += static_cast<char>('a' + t);
  }
  return text;
}

class ChatService : public InferenceService {
 public:
  ChatService() {
    models_["chat"] = Model("chat", true, true);
    models_["plain"] = Model("plain", true, false);
    models_["no_codec"] = Model("no_codec", false, true);
  }
  bool Live() const override { return true; }
  bool Ready() const override { return true; }
  ServerMetadata GetServerMetadata() const override { return {}; }
  StatusOr<bool> ModelReady(const std::string&, const std::string&) const override { return true; }
  StatusOr<ModelMetadata> GetModelMetadata(const std::string& name, const std::string&) const override {
    return NotFound("no model '" + name + "'");
  }
  std::vector<RepositoryEntry> RepositoryIndex() const override { return {}; }
  Status LoadModel(const std::string&) override { return Status::Ok(); }
  Status UnloadModel(const std::string&) override { return Status::Ok(); }
  StatusOr<InferResponse> Infer(InferRequest) override { return Unimplemented("generation only"); }
  std::string MetricsText() const override { return ""; }
  std::vector<std::shared_ptr<GenerationModel>> GenerationModels() const override {
    std::vector<std::shared_ptr<GenerationModel>> all;
    for (const auto& [name, m] : models_) all.push_back(m);
    return all;
  }
  StatusOr<std::shared_ptr<GenerationModel>> FindGenerationModel(const std::string& name) const override {
    auto it = models_.find(name);
    if (it == models_.end()) return NotFound("no generation model named '" + name + "'");
    return it->second;
  }

 private:
  static std::shared_ptr<GenerationModel> Model(const std::string& name, bool codec, bool chat_template) {
    GenerationModel::Parts parts;
    auto decoder = generate::DecoderModel::Load(generate::testing::WriteTinyDecoder(), {});
    EXPECT_TRUE(decoder.ok()) << decoder.status().message();
    parts.decoder = std::move(*decoder);
    if (codec) {
      parts.codec = std::make_unique<ByteCodec>();
    } else {
      parts.no_codec_reason = "no tokenizer.json";
    }
    if (chat_template) {
      parts.chat_template = *generate::ChatTemplate::Parse(kTemplate, {{"bos_token", "^"}}, "test template");
    } else {
      parts.no_chat_template_reason = "no chat_template in tokenizer_config.json";
    }
    return GenerationModel::Create(name, "1", std::move(parts), {}, std::make_shared<ModelMetrics>());
  }

  std::map<std::string, std::shared_ptr<GenerationModel>> models_;
};

class OpenAiChatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FrontEndOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    auto fe = StartHttpFrontEnd(service_, options);
    ASSERT_TRUE(fe.ok()) << fe.status().ToString();
    front_end_ = std::move(fe).value();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", front_end_->port());
  }

  httplib::Result Chat(json body) { return client_->Post("/v1/chat/completions", body.dump(), "application/json"); }

  static json UserSays(const std::string& text) { return json::array({{{"role", "user"}, {"content", text}}}); }

  // The JSON of each `data:` event, [DONE] as the string "[DONE]".
  static std::vector<json> Events(const std::string& body) {
    std::vector<json> events;
    for (size_t at = body.find("data: "); at != std::string::npos; at = body.find("data: ", at + 1)) {
      const size_t end = body.find("\n\n", at);
      const std::string data = body.substr(at + 6, end - at - 6);
      events.push_back(data == "[DONE]" ? json("[DONE]") : json::parse(data));
    }
    return events;
  }

  ChatService service_;
  std::unique_ptr<FrontEnd> front_end_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(OpenAiChatTest, AnswersAChatCompletionFromTheTemplatesPrompt) {
  auto r = Chat({{"model", "chat"}, {"messages", UserSays("hi")}, {"max_tokens", 4}, {"temperature", 0}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json body = json::parse(r->body);
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(body["model"], "chat");
  const json& choice = body["choices"][0];
  EXPECT_EQ(choice["message"]["role"], "assistant");
  EXPECT_EQ(choice["message"]["content"], GreedyText(Rendered("hi"), 4));
  EXPECT_EQ(choice["finish_reason"], "length");
  // The template wrote the BOS (^); encoding added none, as apply_chat_template(tokenize=True) does.
  EXPECT_EQ(body["usage"]["prompt_tokens"], Rendered("hi").size());
  EXPECT_EQ(body["usage"]["completion_tokens"], 4);
  EXPECT_EQ(body["usage"]["total_tokens"], Rendered("hi").size() + 4);
}

TEST_F(OpenAiChatTest, MaxCompletionTokensStopAndSeed) {
  auto r = Chat({{"model", "chat"}, {"messages", UserSays("hi")}, {"max_completion_tokens", 3}, {"temperature", 0}});
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["choices"][0]["message"]["content"], GreedyText(Rendered("hi"), 3));

  const std::string greedy = GreedyText(Rendered("hi"), 6);
  auto stopped = Chat({{"model", "chat"},
                       {"messages", UserSays("hi")},
                       {"max_tokens", 6},
                       {"temperature", 0},
                       {"stop", std::string(1, greedy[2])}});
  ASSERT_EQ(stopped->status, 200) << stopped->body;
  EXPECT_EQ(json::parse(stopped->body)["choices"][0]["message"]["content"], greedy.substr(0, 2));
  EXPECT_EQ(json::parse(stopped->body)["choices"][0]["finish_reason"], "stop");

  const json sampled = {{"model", "chat"}, {"messages", UserSays("hi")},
                        {"max_tokens", 8}, {"temperature", 1.5},
                        {"top_p", 0.9},    {"seed", 7}};
  auto first = Chat(sampled), second = Chat(sampled);
  ASSERT_EQ(first->status, 200) << first->body;
  EXPECT_EQ(json::parse(first->body)["choices"][0]["message"], json::parse(second->body)["choices"][0]["message"]);
}

TEST_F(OpenAiChatTest, StreamsChunksWithTheRoleFirstThenDone) {
  auto r = Chat({{"model", "chat"},
                 {"messages", UserSays("hey")},
                 {"max_tokens", 5},
                 {"temperature", 0},
                 {"stream", true},
                 {"stream_options", {{"include_usage", true}}}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const std::vector<json> events = Events(r->body);
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_EQ(events[0]["choices"][0]["delta"]["role"], "assistant");
  std::string content;
  for (size_t i = 0; i + 3 < events.size(); ++i) {
    EXPECT_EQ(events[i]["object"], "chat.completion.chunk");
    EXPECT_TRUE(events[i]["choices"][0]["finish_reason"].is_null());
    if (i > 0) EXPECT_FALSE(events[i]["choices"][0]["delta"].contains("role"));
    content += events[i]["choices"][0]["delta"].value("content", "");
  }
  EXPECT_EQ(content, GreedyText(Rendered("hey"), 5));
  const json& last = events[events.size() - 3];
  EXPECT_EQ(last["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(last["choices"][0]["delta"], json::object());
  const json& usage = events[events.size() - 2];
  EXPECT_EQ(usage["choices"], json::array());
  EXPECT_EQ(usage["usage"]["completion_tokens"], 5);
}

TEST_F(OpenAiChatTest, AModelWithoutATemplateIsA400NamingIt) {
  auto r = Chat({{"model", "plain"}, {"messages", UserSays("hi")}});
  ASSERT_EQ(r->status, 400);
  const json error = json::parse(r->body)["error"];
  EXPECT_EQ(error["code"], "no_chat_template");
  EXPECT_EQ(error["param"], "messages");
  EXPECT_NE(error["message"].get<std::string>().find("model 'plain' has no chat template"), std::string::npos);
  EXPECT_NE(error["message"].get<std::string>().find("no chat_template in tokenizer_config.json"), std::string::npos);
}

TEST_F(OpenAiChatTest, AModelWithoutATokenizerIsA400) {
  auto r = Chat({{"model", "no_codec"}, {"messages", UserSays("hi")}});
  ASSERT_EQ(r->status, 400);
  EXPECT_NE(json::parse(r->body)["error"]["message"].get<std::string>().find("model 'no_codec' has no tokenizer"),
            std::string::npos);
}

TEST_F(OpenAiChatTest, TheTemplatesOwnRefusalIsA400WithItsMessage) {
  auto r = Chat({{"model", "chat"}, {"messages", json::array({{{"role", "wizard"}, {"content", "x"}}})}});
  ASSERT_EQ(r->status, 400);
  const json error = json::parse(r->body)["error"];
  EXPECT_EQ(error["param"], "messages");
  EXPECT_NE(error["message"].get<std::string>().find("Unknown role: wizard"), std::string::npos) << error;
  EXPECT_NE(error["message"].get<std::string>().find("model 'chat'"), std::string::npos) << error;
}

TEST_F(OpenAiChatTest, MalformedMessagesAreA400NamingTheMessage) {
  const std::vector<std::pair<json, std::string>> bad = {
      {"not a list", "'messages' must be a non-empty array"},
      {json::array(), "'messages' must be a non-empty array"},
      {json::array({{{"content", "x"}}}), "message 0 must have a non-empty string 'role'"},
      {json::array({{{"role", "user"}}}), "message 0 must have a 'content' (or 'tool_calls')"},
      {json::array({{{"role", "user"}, {"content", 5}}}), "message 0: 'content' must be a string or an array"},
      {json::array({{{"role", "user"}, {"content", json::array({{{"type", "image_url"}}})}}}),
       "message 0: content parts of type 'image_url' are not supported (text only)"},
      {json::array({"just a string"}), "message 0 must be an object"},
  };
  for (const auto& [messages, expected] : bad) {
    auto r = Chat({{"model", "chat"}, {"messages", messages}});
    ASSERT_EQ(r->status, 400) << messages;
    const json error = json::parse(r->body)["error"];
    EXPECT_EQ(error["param"], "messages") << messages;
    EXPECT_NE(error["message"].get<std::string>().find(expected), std::string::npos) << error;
  }
  auto no_messages = Chat({{"model", "chat"}});
  EXPECT_EQ(no_messages->status, 400);
  auto tool_choice = Chat({{"model", "chat"}, {"messages", UserSays("x")}, {"tool_choice", "required"}});
  EXPECT_EQ(tool_choice->status, 400);
  EXPECT_EQ(json::parse(tool_choice->body)["error"]["param"], "tool_choice");
  auto unknown = Chat({{"model", "chat"}, {"messages", UserSays("x")}, {"prompt", "x"}});
  EXPECT_EQ(unknown->status, 400);
  EXPECT_EQ(json::parse(unknown->body)["error"]["param"], "prompt");
}

}  // namespace
}  // namespace tessera::serve
