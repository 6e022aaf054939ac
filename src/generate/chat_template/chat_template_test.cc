// ChatTemplate: finding the template and special tokens in a model folder, and rendering a conversation
// with Hugging Face's variables.
#include "generate/chat_template/chat_template.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "testing/onnx_builder.h"

namespace tessera::generate {
namespace {

using nlohmann::ordered_json;

std::string Folder(const std::map<std::string, std::string>& files) {
  const std::string dir = tessera::testing::OnnxBuilder::MakeTempDir();
  for (const auto& [name, text] : files) std::ofstream(dir + "/" + name, std::ios::binary) << text;
  return dir;
}

ChatInput UserSays(const std::string& text) {
  ChatInput input;
  input.messages = ordered_json::array({{{"role", "user"}, {"content", text}}});
  return input;
}

const char* kChatMl =
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

TEST(ChatTemplate, LoadsTheStringInTokenizerConfig) {
  ordered_json config = {{"chat_template", kChatMl}, {"eos_token", "<|im_end|>"}};
  auto t = ChatTemplate::Load(Folder({{"tokenizer_config.json", config.dump()}}));
  ASSERT_TRUE(t.ok()) << t.status().message();
  auto text = (*t)->Render(UserSays("Hi"));
  ASSERT_TRUE(text.ok()) << text.status().message();
  EXPECT_EQ(*text, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  ChatInput no_prompt = UserSays("Hi");
  no_prompt.add_generation_prompt = false;
  EXPECT_EQ(*(*t)->Render(no_prompt), "<|im_start|>user\nHi<|im_end|>\n");
  EXPECT_EQ((*t)->special_token("eos_token"), "<|im_end|>");
}

TEST(ChatTemplate, SpecialTokensMayBeAddedTokenObjects) {
  ordered_json config = {{"chat_template", "{{ bos_token }}|{{ eos_token }}|{{ unk_token is defined }}"},
                         {"bos_token", {{"content", "<s>"}, {"lstrip", false}}},
                         {"eos_token", "</s>"}};
  auto t = ChatTemplate::Load(Folder({{"tokenizer_config.json", config.dump()}}));
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(*(*t)->Render(UserSays("x")), "<s>|</s>|False");
}

TEST(ChatTemplate, JinjaFileTakesPrecedenceOverTheConfig) {
  ordered_json config = {{"chat_template", "from config"}, {"bos_token", "<s>"}};
  auto t = ChatTemplate::Load(
      Folder({{"tokenizer_config.json", config.dump()}, {"chat_template.jinja", "{{ bos_token }}from file\n"}}));
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(*(*t)->Render(UserSays("x")), "<s>from file");
}

TEST(ChatTemplate, NamedTemplatesUseDefaultAndToolUseWhenToolsAreGiven) {
  ordered_json config = {
      {"chat_template", ordered_json::array({{{"name", "default"}, {"template", "plain"}},
                                             {{"name", "tool_use"}, {"template", "{{ tools | length }} tools"}}})}};
  auto t = ChatTemplate::Load(Folder({{"tokenizer_config.json", config.dump()}}));
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(*(*t)->Render(UserSays("x")), "plain");
  ChatInput with_tools = UserSays("x");
  with_tools.tools = ordered_json::array({{{"type", "function"}}});
  EXPECT_EQ(*(*t)->Render(with_tools), "1 tools");
}

TEST(ChatTemplate, ToolsAreNoneWhenAbsentAndVariablesAreSeen) {
  auto t = ChatTemplate::Parse("{{ tools is none }} {{ tools is defined }} {{ enable_thinking }}", {}, "test");
  ASSERT_TRUE(t.ok());
  ChatInput input = UserSays("x");
  input.variables = {{"enable_thinking", false}};
  EXPECT_EQ(*(*t)->Render(input), "True True False");
}

TEST(ChatTemplate, NoTemplateIsNotFound) {
  auto t = ChatTemplate::Load(Folder({{"tokenizer_config.json", "{\"eos_token\": \"</s>\"}"}}));
  EXPECT_EQ(t.status().code(), StatusCode::kNotFound);
  EXPECT_NE(t.status().message().find("has no chat template"), std::string::npos);
  EXPECT_EQ(ChatTemplate::Load(Folder({})).status().code(), StatusCode::kNotFound);
}

TEST(ChatTemplate, BrokenConfigAndTemplateAreInvalidArgumentNamingTheFile) {
  const std::string bad_json = Folder({{"tokenizer_config.json", "{not json"}});
  auto t = ChatTemplate::Load(bad_json);
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("tokenizer_config.json' is not a JSON object"), std::string::npos);

  const std::string bad_template = Folder({{"chat_template.jinja", "{% if x %}never closed"}});
  t = ChatTemplate::Load(bad_template);
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.status().message(), bad_template +
                                      "/chat_template.jinja: chat template syntax error at line 1, column 23: "
                                      "unexpected end of template, expected 'elif' or 'endif'");

  ordered_json no_default = {{"chat_template", ordered_json::array({{{"name", "rag"}, {"template", "x"}}})}};
  t = ChatTemplate::Load(Folder({{"tokenizer_config.json", no_default.dump()}}));
  EXPECT_NE(t.status().message().find("no template named 'default' (it has rag)"), std::string::npos);
}

TEST(ChatTemplate, RaisedExceptionsCarryTheTemplatesMessage) {
  auto t = ChatTemplate::Parse(
      "{% for m in messages %}{% if m.role not in ['user', 'assistant'] %}"
      "{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}",
      {}, "model 'm'");
  ASSERT_TRUE(t.ok());
  ChatInput input;
  input.messages = ordered_json::array({{{"role", "wizard"}, {"content", "x"}}});
  auto text = (*t)->Render(input);
  EXPECT_EQ(text.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(text.status().message(),
            "model 'm': chat template error at line 1, column 86: Only user and assistant roles are supported!");
}

TEST(ChatTemplate, BadInputShapesAreErrorsNotCrashes) {
  auto t = ChatTemplate::Parse("{{ messages[0].content }}", {}, "test");
  ASSERT_TRUE(t.ok());
  ChatInput input;
  input.messages = "not a list";
  EXPECT_EQ((*t)->Render(input).status().message(), "the messages must be a list");
  input.messages = ordered_json::array();
  EXPECT_EQ((*t)->Render(input).status().message(),
            "test: chat template error at line 1, column 15: 'list object' has no item 0");
  ordered_json deep = "x";
  for (int i = 0; i < 100000; ++i) deep = ordered_json::array({std::move(deep)});
  input.messages = ordered_json::array({{{"role", "user"}, {"content", "x"}, {"extra", std::move(deep)}}});
  EXPECT_EQ((*t)->Render(input).status().message(),
            "the messages, tools or template variables nest more than 63 levels deep");
}

}  // namespace
}  // namespace tessera::generate
