// ChatTemplate: a model's chat template (Hugging Face's Jinja `chat_template`), rendering a conversation
// into the prompt text exactly as transformers' apply_chat_template does.
//
// The template comes from the model's folder: `chat_template.jinja` (newer exporters), else
// `chat_template.json` ({"chat_template": ...}), else tokenizer_config.json's `chat_template` (a string, or
// a list of {name, template}: "default" is used, "tool_use" when tools are given and it exists). The
// special tokens of tokenizer_config.json (bos_token, eos_token, unk_token, pad_token, ...; strings or
// {"content": ...}) are variables of the template.
//
// The template language is the subset of jinja2 that chat templates use (docs/serving.md, "Chat
// templates"), under Hugging Face's settings: trim_blocks and lstrip_blocks, an immutable sandbox, tojson
// without key sorting or ASCII escaping, raise_exception(message) and strftime_now(format).
//
// Thread safety: a loaded template is immutable; Render may be called from many threads at once.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "tessera/status.h"

namespace tessera::generate {

// What a conversation renders with. `messages` is a JSON array of {role, content, ...} objects (content a
// string or a list of parts; tool_calls, name, tool_call_id as the client sent them); `tools` a JSON array
// of tool definitions or null; `variables` extra template variables (an object, e.g. {"enable_thinking":
// false}) or null. Key order is kept: tojson prints keys as given.
struct ChatInput {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools;
  nlohmann::ordered_json variables;
  bool add_generation_prompt = true;
};

class ChatTemplate {
 public:
  ~ChatTemplate();

  // Parses `source`; `special_tokens` maps names such as "bos_token" to their text. `origin` names the
  // template in errors. InvalidArgument with the line and column of a syntax error.
  static StatusOr<std::shared_ptr<const ChatTemplate>> Parse(const std::string& source,
                                                             std::map<std::string, std::string> special_tokens,
                                                             const std::string& origin);
  // The template of the model in `folder` (see above). NotFound when the folder has none; InvalidArgument
  // for a template or config that does not parse.
  static StatusOr<std::shared_ptr<const ChatTemplate>> Load(const std::string& folder);

  // The prompt text. InvalidArgument for input the template refuses (its raise_exception message) or
  // fails on, with the line and column in the template.
  StatusOr<std::string> Render(const ChatInput& input) const;

  // The special token's text ("" when the config has none), e.g. special_token("bos_token").
  std::string special_token(const std::string& name) const;
  const std::string& origin() const { return origin_; }

 private:
  ChatTemplate() = default;
  struct Parsed;

  std::string origin_;
  std::map<std::string, std::string> special_tokens_;
  std::unique_ptr<Parsed> default_, tool_use_;  // tool_use_ may be null
};

}  // namespace tessera::generate
