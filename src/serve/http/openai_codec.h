// The OpenAI-compatible generation API's JSON: completion and chat requests in, completions, stream chunks,
// model lists and errors out (docs/serving.md, "OpenAI-compatible generation").
//
// Requests are untrusted: every field is checked for its type and range, unknown fields are refused (a
// typo must not be silently ignored) and the field at fault is reported in `param`.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "generate/generation.h"

namespace tessera::serve::http {

struct CompletionRequest {
  std::string model;
  std::optional<std::string> prompt_text;      // a text prompt (needs the model's tokenizer)
  generate::GenerationRequest generation;      // prompt ids when given as ids; sampling, stops, max tokens
  bool stream = false;
  bool include_usage = false;                  // stream_options.include_usage
  struct Chat {
    nlohmann::ordered_json messages;   // checked and normalised (openai_chat_codec.h)
    nlohmann::ordered_json tools;      // null when absent
    nlohmann::ordered_json variables;  // chat_template_kwargs; null when absent
  } chat;                              // chat requests only
};

// InvalidArgument for anything malformed; `param` names the field at fault ("" for the body itself).
StatusOr<CompletionRequest> DecodeCompletionRequest(const std::string& body, std::string& param);
// The chat form: `messages` (and `tools`, `chat_template_kwargs`) instead of `prompt`.
StatusOr<CompletionRequest> DecodeChatRequest(const std::string& body, std::string& param);

// OpenAI's finish_reason: "length", or "stop" for a stop token or string.
const char* FinishReason(generate::StopReason reason);

struct CompletionChoice {
  std::string text;
  std::vector<generate::TokenId> token_ids;  // the extension: generated ids, a final stop token left out
  const char* finish_reason = nullptr;       // null while streaming
};

struct CompletionUsage {
  int64_t prompt_tokens = 0, completion_tokens = 0;
};

// A whole completion ("text_completion"), or one stream chunk of it (the same object, finish_reason null
// until the last chunk); `usage` is left out when null.
std::string EncodeCompletion(const std::string& id, int64_t created, const std::string& model,
                             const CompletionChoice* choice, const CompletionUsage* usage);
// {"object":"list","data":[{"id","object":"model","created","owned_by","max_model_len"}]}
struct ModelListEntry {
  std::string id;
  int64_t created = 0;
  int64_t context_length = 0;
};
std::string EncodeModelList(const std::vector<ModelListEntry>& models);
// {"error":{"message","type","param","code"}}; `type` follows the HTTP status.
std::string EncodeOpenAiError(int http_status, const std::string& message, const std::string& param,
                              const std::string& code);

}  // namespace tessera::serve::http
