// The chat conversation and chat completion objects (openai_chat_codec.h).
#include "serve/http/openai_chat_codec.h"

namespace tessera::serve::http {

namespace {

using nlohmann::ordered_json;

Status Bad(std::string& param, const std::string& field, const std::string& message) {
  param = field;
  return InvalidArgument(message);
}

// A content given as parts: text parts only, joined into one string.
Status JoinTextParts(ordered_json& content, const std::string& where, std::string& param) {
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const ordered_json& part = content[i];
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string()) {
      return Bad(param, "messages", where + ": each content part must be an object with a 'type'");
    }
    const std::string type = part["type"].get<std::string>();
    if (type != "text") {
      return Bad(param, "messages", where + ": content parts of type '" + type + "' are not supported (text only)");
    }
    if (!part.contains("text") || !part["text"].is_string()) {
      return Bad(param, "messages", where + ": a text part must have a string 'text'");
    }
    text += (i ? "\n" : "") + part["text"].get<std::string>();
  }
  content = text;
  return Status::Ok();
}

Status CheckToolCalls(ordered_json& calls, const std::string& where, std::string& param) {
  if (!calls.is_array()) return Bad(param, "messages", where + ": 'tool_calls' must be an array");
  for (ordered_json& call : calls) {
    if (!call.is_object() || !call.contains("function") || !call["function"].is_object() ||
        !call["function"].contains("name") || !call["function"]["name"].is_string()) {
      return Bad(param, "messages", where + ": each tool call must have a 'function' with a string 'name'");
    }
    if (!call["function"].contains("arguments")) continue;
    ordered_json& arguments = call["function"]["arguments"];
    if (arguments.is_string()) {  // OpenAI sends the arguments as JSON text; templates read an object
      ordered_json parsed = ordered_json::parse(arguments.get<std::string>(), nullptr, /*allow_exceptions=*/false);
      if (parsed.is_object()) arguments = std::move(parsed);
    }
  }
  return Status::Ok();
}

Status CheckMessages(ordered_json& messages, std::string& param) {
  if (!messages.is_array() || messages.empty()) return Bad(param, "messages", "'messages' must be a non-empty array");
  for (size_t i = 0; i < messages.size(); ++i) {
    ordered_json& m = messages[i];
    const std::string where = "message " + std::to_string(i);
    if (!m.is_object()) return Bad(param, "messages", where + " must be an object");
    if (!m.contains("role") || !m["role"].is_string() || m["role"].get<std::string>().empty()) {
      return Bad(param, "messages", where + " must have a non-empty string 'role'");
    }
    const bool calls_tools = m.contains("tool_calls") && !m["tool_calls"].is_null();
    if (calls_tools) TS_RETURN_IF_ERROR(CheckToolCalls(m["tool_calls"], where, param));
    if (!m.contains("content") || m["content"].is_null()) {
      if (!calls_tools) return Bad(param, "messages", where + " must have a 'content' (or 'tool_calls')");
      m["content"] = nullptr;
    } else if (m["content"].is_array()) {
      TS_RETURN_IF_ERROR(JoinTextParts(m["content"], where, param));
    } else if (!m["content"].is_string()) {
      return Bad(param, "messages", where + ": 'content' must be a string or an array of text parts");
    }
  }
  return Status::Ok();
}

Status CheckTools(const ordered_json& tools, std::string& param) {
  if (!tools.is_array()) return Bad(param, "tools", "'tools' must be an array");
  for (const ordered_json& t : tools) {
    if (!t.is_object() || t.value("type", "") != "function" || !t.contains("function") || !t["function"].is_object() ||
        !t["function"].contains("name") || !t["function"]["name"].is_string()) {
      return Bad(param, "tools", "each tool must be {\"type\": \"function\", \"function\": {\"name\": ...}}");
    }
  }
  return Status::Ok();
}

ordered_json Choice(const CompletionChoice& choice, const char* body_key, ordered_json body) {
  return {{"index", 0},
          {body_key, std::move(body)},
          {"token_ids", choice.token_ids},
          {"logprobs", nullptr},
          {"finish_reason", choice.finish_reason ? ordered_json(choice.finish_reason) : ordered_json(nullptr)}};
}

ordered_json Usage(const CompletionUsage& usage) {
  return {{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.prompt_tokens + usage.completion_tokens}};
}

std::string Dump(const ordered_json& j) { return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace); }

}  // namespace

Status DecodeChatConversation(const std::string& body, CompletionRequest& r, std::string& param) {
  ordered_json j = ordered_json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Bad(param, "", "the request body must be a JSON object");
  if (!j.contains("messages")) return Bad(param, "messages", "'messages' is required");
  TS_RETURN_IF_ERROR(CheckMessages(j["messages"], param));
  r.chat.messages = std::move(j["messages"]);
  if (j.contains("tools") && !j["tools"].is_null()) {
    TS_RETURN_IF_ERROR(CheckTools(j["tools"], param));
    r.chat.tools = std::move(j["tools"]);
  }
  if (j.contains("tool_choice") && !j["tool_choice"].is_null()) {
    const ordered_json& choice = j["tool_choice"];
    if (!choice.is_string() || (choice != "auto" && choice != "none")) {
      return Bad(param, "tool_choice", "only 'tool_choice': \"auto\" or \"none\" is supported");
    }
  }
  if (j.contains("parallel_tool_calls") && !j["parallel_tool_calls"].is_null() &&
      !j["parallel_tool_calls"].is_boolean()) {
    return Bad(param, "parallel_tool_calls", "'parallel_tool_calls' must be true or false");
  }
  if (j.contains("chat_template_kwargs") && !j["chat_template_kwargs"].is_null()) {
    if (!j["chat_template_kwargs"].is_object()) {
      return Bad(param, "chat_template_kwargs", "'chat_template_kwargs' must be an object");
    }
    r.chat.variables = std::move(j["chat_template_kwargs"]);
  }
  return Status::Ok();
}

std::string EncodeChatCompletion(const std::string& id, int64_t created, const std::string& model,
                                 const CompletionChoice& choice, const CompletionUsage& usage) {
  ordered_json message = {{"role", "assistant"}, {"content", choice.text}};
  ordered_json j = {{"id", id}, {"object", "chat.completion"}, {"created", created}, {"model", model}};
  j["choices"] = ordered_json::array({Choice(choice, "message", std::move(message))});
  j["usage"] = Usage(usage);
  return Dump(j);
}

std::string EncodeChatChunk(const std::string& id, int64_t created, const std::string& model,
                            const CompletionChoice* choice, bool with_role, const CompletionUsage* usage) {
  ordered_json j = {{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", model}};
  j["choices"] = ordered_json::array();
  if (choice) {
    ordered_json delta = ordered_json::object();
    if (with_role) delta["role"] = "assistant";
    if (!choice->text.empty() || with_role) delta["content"] = choice->text;
    j["choices"].push_back(Choice(*choice, "delta", std::move(delta)));
  }
  if (usage) j["usage"] = Usage(*usage);
  return Dump(j);
}

}  // namespace tessera::serve::http
