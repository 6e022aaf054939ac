// ChatTemplate (chat_template.h): finding the template in a model folder, and the variables and globals
// Hugging Face renders it with.
#include "generate/chat_template/chat_template.h"

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "generate/chat_template/lexer.h"
#include "generate/chat_template/parser.h"
#include "generate/chat_template/renderer.h"

namespace tessera::generate {

namespace fs = std::filesystem;
using chat_template::CallArgs;
using chat_template::Value;
using nlohmann::ordered_json;

struct ChatTemplate::Parsed {
  chat_template::Body body;
};

ChatTemplate::~ChatTemplate() = default;

namespace {

constexpr uintmax_t kMaxConfigBytes = 64 << 20;

StatusOr<std::string> ReadFile(const fs::path& path) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) return IoError("cannot read '" + path.string() + "': " + ec.message());
  if (size > kMaxConfigBytes) return InvalidArgument("'" + path.string() + "' is larger than 64 MiB");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) return IoError("cannot read '" + path.string() + "'");
  return text.str();
}

StatusOr<ordered_json> ReadJson(const fs::path& path) {
  TS_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  ordered_json j = ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("'" + path.string() + "' is not a JSON object");
  return j;
}

// bos_token and the like: a string, or an AddedToken {"content": ...}.
std::map<std::string, std::string> SpecialTokens(const ordered_json& config) {
  std::map<std::string, std::string> tokens;
  for (const char* name :
       {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}) {
    if (!config.contains(name)) continue;
    const ordered_json& t = config[name];
    if (t.is_string()) {
      tokens[name] = t.get<std::string>();
    } else if (t.is_object() && t.contains("content") && t["content"].is_string()) {
      tokens[name] = t["content"].get<std::string>();
    }
  }
  return tokens;
}

StatusOr<chat_template::Body> ParseSource(const std::string& source, const std::string& origin) {
  auto tokens = chat_template::Tokenize(source);
  if (!tokens.ok()) return tokens.status().WithContext(origin);
  auto body = chat_template::ParseTemplate(*tokens);
  if (!body.ok()) return body.status().WithContext(origin);
  return body;
}

// strftime_now(format): the local time, as Python's datetime.now().strftime(format).
StatusOr<Value> StrftimeNow(CallArgs& args) {
  if (args.positional.size() != 1 || !args.positional[0].is_string() || !args.keyword.empty()) {
    return InvalidArgument("strftime_now() takes one format string");
  }
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buf[512];
  const size_t n = std::strftime(buf, sizeof(buf), args.positional[0].as_string().c_str(), &local);
  return Value::String(std::string(buf, n));
}

// Whether `j` nests deeper than `limit` levels, without recursing (the request is untrusted).
bool JsonDeeperThan(const ordered_json& j, int limit) {
  std::vector<std::pair<const ordered_json*, int>> pending = {{&j, 0}};
  while (!pending.empty()) {
    auto [node, depth] = pending.back();
    pending.pop_back();
    if (!node->is_structured()) continue;
    if (depth >= limit) return true;
    for (const ordered_json& child : *node) pending.emplace_back(&child, depth + 1);
  }
  return false;
}

StatusOr<Value> RaiseException(CallArgs& args) {
  if (args.positional.size() != 1 || !args.keyword.empty()) return InvalidArgument("raise_exception() takes a message");
  return InvalidArgument(chat_template::ToStr(args.positional[0]));
}

}  // namespace

StatusOr<std::shared_ptr<const ChatTemplate>> ChatTemplate::Parse(const std::string& source,
                                                                  std::map<std::string, std::string> special_tokens,
                                                                  const std::string& origin) {
  std::shared_ptr<ChatTemplate> t(new ChatTemplate());
  t->origin_ = origin;
  t->special_tokens_ = std::move(special_tokens);
  t->default_ = std::make_unique<Parsed>();
  TS_ASSIGN_OR_RETURN(t->default_->body, ParseSource(source, origin));
  return std::shared_ptr<const ChatTemplate>(std::move(t));
}

StatusOr<std::shared_ptr<const ChatTemplate>> ChatTemplate::Load(const std::string& folder) {
  const fs::path dir(folder);
  std::error_code ec;
  ordered_json config = ordered_json::object();
  const fs::path config_path = dir / "tokenizer_config.json";
  if (fs::is_regular_file(config_path, ec)) {
    TS_ASSIGN_OR_RETURN(config, ReadJson(config_path));
  }
  std::map<std::string, std::string> tokens = SpecialTokens(config);

  const fs::path jinja_path = dir / "chat_template.jinja";
  if (fs::is_regular_file(jinja_path, ec)) {
    TS_ASSIGN_OR_RETURN(std::string source, ReadFile(jinja_path));
    return Parse(source, std::move(tokens), jinja_path.string());
  }
  const fs::path json_path = dir / "chat_template.json";
  if (fs::is_regular_file(json_path, ec)) {
    TS_ASSIGN_OR_RETURN(ordered_json j, ReadJson(json_path));
    if (j.contains("chat_template") && j["chat_template"].is_string()) {
      return Parse(j["chat_template"].get<std::string>(), std::move(tokens), json_path.string());
    }
  }
  if (!config.contains("chat_template") || config["chat_template"].is_null()) {
    return NotFound("the model in '" + folder +
                    "' has no chat template (no chat_template.jinja, and no "
                    "'chat_template' in tokenizer_config.json)");
  }
  const ordered_json& field = config["chat_template"];
  const std::string origin = config_path.string();
  if (field.is_string()) return Parse(field.get<std::string>(), std::move(tokens), origin);
  if (!field.is_array()) {
    return InvalidArgument(origin + ": 'chat_template' must be a string or a list of {name, template}");
  }
  // A list of named templates: "default" renders, "tool_use" when tools are given.
  std::string default_source, tool_source, names;
  for (const ordered_json& entry : field) {
    if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string() || !entry.contains("template") ||
        !entry["template"].is_string()) {
      return InvalidArgument(origin + ": each 'chat_template' entry must be {\"name\": ..., \"template\": ...}");
    }
    const std::string name = entry["name"].get<std::string>();
    names += (names.empty() ? "" : ", ") + name;
    if (name == "default") default_source = entry["template"].get<std::string>();
    if (name == "tool_use") tool_source = entry["template"].get<std::string>();
  }
  if (default_source.empty()) {
    return InvalidArgument(origin + ": the 'chat_template' list has no template named 'default' (it has " + names +
                           ")");
  }
  std::shared_ptr<ChatTemplate> t(new ChatTemplate());
  t->origin_ = origin;
  t->special_tokens_ = std::move(tokens);
  t->default_ = std::make_unique<Parsed>();
  TS_ASSIGN_OR_RETURN(t->default_->body, ParseSource(default_source, origin + " (template 'default')"));
  if (!tool_source.empty()) {
    t->tool_use_ = std::make_unique<Parsed>();
    TS_ASSIGN_OR_RETURN(t->tool_use_->body, ParseSource(tool_source, origin + " (template 'tool_use')"));
  }
  return std::shared_ptr<const ChatTemplate>(std::move(t));
}

StatusOr<std::string> ChatTemplate::Render(const ChatInput& input) const {
  if (!input.messages.is_array()) return InvalidArgument("the messages must be a list");
  if (!input.tools.is_null() && !input.tools.is_array()) return InvalidArgument("the tools must be a list");
  if (!input.variables.is_null() && !input.variables.is_object()) {
    return InvalidArgument("the template variables must be an object");
  }
  for (const ordered_json* j : {&input.messages, &input.tools, &input.variables}) {
    if (JsonDeeperThan(*j, chat_template::kMaxValueDepth - 1)) {
      return InvalidArgument("the messages, tools or template variables nest more than " +
                             std::to_string(chat_template::kMaxValueDepth - 1) + " levels deep");
    }
  }
  chat_template::ValueDict context;
  for (const auto& [name, text] : special_tokens_) context.Set(name, Value::String(text));
  if (input.variables.is_object()) {
    for (const auto& [name, v] : input.variables.items()) context.Set(name, Value::FromJson(v));
  }
  context.Set("messages", Value::FromJson(input.messages));
  context.Set("tools", Value::FromJson(input.tools));  // null: defined and none, as transformers passes it
  context.Set("documents", Value::None());
  context.Set("add_generation_prompt", Value::Bool(input.add_generation_prompt));
  context.Set("raise_exception", Value::Callable("raise_exception", RaiseException));
  context.Set("strftime_now", Value::Callable("strftime_now", StrftimeNow));
  const bool use_tools = tool_use_ && input.tools.is_array() && !input.tools.empty();
  auto text = chat_template::Render((use_tools ? tool_use_ : default_)->body, context);
  if (!text.ok()) return text.status().WithContext(origin_);
  return text;
}

std::string ChatTemplate::special_token(const std::string& name) const {
  auto it = special_tokens_.find(name);
  return it == special_tokens_.end() ? "" : it->second;
}

}  // namespace tessera::generate
