// OpenAI request checks and response encoding (openai_codec.h).
#include "serve/http/openai_codec.h"

#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "serve/http/openai_chat_codec.h"

namespace tessera::serve::http {

namespace {

using nlohmann::json;

// Accepted by both forms. logprobs/echo/best_of/suffix/logit_bias/presence and frequency penalties are
// accepted only at their neutral values, so clients that always send them keep working.
const std::set<std::string> kCommonFields = {
    "model", "max_tokens", "temperature", "top_p", "top_k", "min_p", "repetition_penalty", "frequency_penalty",
    "presence_penalty", "seed", "stop", "stop_token_ids", "ignore_eos", "n", "stream", "stream_options", "user",
    "logprobs", "logit_bias", "best_of"};
const std::set<std::string> kCompletionFields = {"prompt", "echo", "suffix"};
const std::set<std::string> kChatFields = {"messages", "max_completion_tokens", "top_logprobs", "tools", "tool_choice",
                                           "parallel_tool_calls", "chat_template_kwargs"};
// Checked by DecodeChatConversation (openai_chat_codec.h), which reads them with their keys in order.
const std::set<std::string> kConversationFields = {"messages", "tools", "tool_choice", "parallel_tool_calls",
                                                   "chat_template_kwargs"};

Status Bad(std::string& param, const std::string& field, const std::string& message) {
  param = field;
  return InvalidArgument(message);
}

StatusOr<double> Number(const json& v, const std::string& field, double lo, double hi, std::string& param) {
  if (!v.is_number()) return Bad(param, field, "'" + field + "' must be a number");
  const double x = v.get<double>();
  if (!(x >= lo && x <= hi)) {
    return Bad(param, field, "'" + field + "' must be in [" + json(lo).dump() + ", " + json(hi).dump() + "], got " +
                                 v.dump());
  }
  return x;
}

StatusOr<int64_t> Integer(const json& v, const std::string& field, int64_t lo, int64_t hi, std::string& param) {
  if (!v.is_number_integer()) return Bad(param, field, "'" + field + "' must be an integer");
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(hi)) {
    return Bad(param, field, "'" + field + "' must be at most " + std::to_string(hi));
  }
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) {
    return Bad(param, field, "'" + field + "' must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                                 "], got " + std::to_string(x));
  }
  return x;
}

StatusOr<std::vector<generate::TokenId>> TokenIds(const json& v, const std::string& field, std::string& param) {
  std::vector<generate::TokenId> ids;
  for (const json& t : v) {
    TS_ASSIGN_OR_RETURN(int64_t id, Integer(t, field, 0, std::numeric_limits<int32_t>::max(), param));
    ids.push_back(static_cast<generate::TokenId>(id));
  }
  return ids;
}

Status DecodePrompt(const json& p, CompletionRequest& r, std::string& param) {
  if (p.is_string()) {
    r.prompt_text = p.get<std::string>();
    return Status::Ok();
  }
  if (!p.is_array() || p.empty()) {
    return Bad(param, "prompt", "'prompt' must be a string, an array of token ids or an array of one such array");
  }
  const json& ids = p[0].is_array() ? p[0] : p;
  if (p[0].is_array() && p.size() != 1) return Bad(param, "prompt", "one prompt per request (n=1)");
  if (p[0].is_string()) {
    if (p.size() != 1) return Bad(param, "prompt", "one prompt per request (n=1)");
    r.prompt_text = p[0].get<std::string>();
    return Status::Ok();
  }
  TS_ASSIGN_OR_RETURN(r.generation.prompt, TokenIds(ids, "prompt", param));
  if (r.generation.prompt.empty()) return Bad(param, "prompt", "'prompt' is empty");
  return Status::Ok();
}

Status DecodeStop(const json& v, CompletionRequest& r, std::string& param) {
  if (v.is_null()) return Status::Ok();
  if (v.is_string()) {
    r.generation.stop_strings = {v.get<std::string>()};
    return Status::Ok();
  }
  if (!v.is_array() || v.size() > 4) return Bad(param, "stop", "'stop' must be a string or a list of up to 4 strings");
  for (const json& s : v) {
    if (!s.is_string() || s.get<std::string>().empty()) {
      return Bad(param, "stop", "every 'stop' entry must be a non-empty string");
    }
    r.generation.stop_strings.push_back(s.get<std::string>());
  }
  return Status::Ok();
}

// One field common to both forms.
Status DecodeCommon(const std::string& key, const json& v, CompletionRequest& r, std::string& param) {
  generate::SamplingOptions& s = r.generation.sampling;
  if (key == "model") {
    if (!v.is_string() || v.get<std::string>().empty()) return Bad(param, key, "'model' must be a non-empty string");
    r.model = v.get<std::string>();
  } else if (key == "max_tokens" || key == "max_completion_tokens") {
    if (v.is_null()) return Status::Ok();
    TS_ASSIGN_OR_RETURN(r.generation.max_new_tokens, Integer(v, key, 1, int64_t{1} << 24, param));
  } else if (key == "temperature") {
    TS_ASSIGN_OR_RETURN(double t, Number(v, key, 0, 100, param));
    s.temperature = static_cast<float>(t);
  } else if (key == "top_p") {
    TS_ASSIGN_OR_RETURN(double p, Number(v, key, 0, 1, param));
    if (p <= 0) return Bad(param, key, "'top_p' must be greater than 0");
    s.top_p = static_cast<float>(p);
  } else if (key == "top_k") {
    TS_ASSIGN_OR_RETURN(int64_t k, Integer(v, key, -1, std::numeric_limits<int32_t>::max(), param));
    s.top_k = k < 0 ? 0 : static_cast<int32_t>(k);  // -1 is off, as in vLLM
  } else if (key == "min_p") {
    TS_ASSIGN_OR_RETURN(double p, Number(v, key, 0, 1, param));
    if (p >= 1) return Bad(param, key, "'min_p' must be below 1");
    s.min_p = static_cast<float>(p);
  } else if (key == "repetition_penalty") {
    TS_ASSIGN_OR_RETURN(double p, Number(v, key, 0, 100, param));
    if (p <= 0) return Bad(param, key, "'repetition_penalty' must be greater than 0");
    s.repetition_penalty = static_cast<float>(p);
  } else if (key == "frequency_penalty" || key == "presence_penalty") {
    if (!v.is_null() && !(v.is_number() && v.get<double>() == 0)) {
      return Bad(param, key, "'" + key + "' is not supported (only 0); use 'repetition_penalty'");
    }
  } else if (key == "seed") {
    if (v.is_null()) return Status::Ok();
    if (!v.is_number_integer()) return Bad(param, key, "'seed' must be an integer");
    s.seed = v.is_number_unsigned() ? v.get<uint64_t>() : static_cast<uint64_t>(v.get<int64_t>());
  } else if (key == "stop") {
    return DecodeStop(v, r, param);
  } else if (key == "stop_token_ids") {
    if (!v.is_array()) return Bad(param, key, "'stop_token_ids' must be an array of token ids");
    TS_ASSIGN_OR_RETURN(r.generation.stop_tokens, TokenIds(v, key, param));
  } else if (key == "ignore_eos") {
    if (!v.is_boolean()) return Bad(param, key, "'ignore_eos' must be true or false");
    r.generation.stop_at_eos = !v.get<bool>();
  } else if (key == "n" || key == "best_of") {
    if (!v.is_null() && !(v.is_number_integer() && v.get<int64_t>() == 1)) {
      return Bad(param, key, "only '" + key + "': 1 is supported");
    }
  } else if (key == "stream") {
    if (!v.is_boolean()) return Bad(param, key, "'stream' must be true or false");
    r.stream = v.get<bool>();
  } else if (key == "stream_options") {
    if (v.is_null()) return Status::Ok();
    if (!v.is_object()) return Bad(param, key, "'stream_options' must be an object");
    for (const auto& [k, o] : v.items()) {
      if (k != "include_usage" || !o.is_boolean()) {
        return Bad(param, key, "'stream_options' may hold only include_usage (true or false)");
      }
      r.include_usage = o.get<bool>();
    }
  } else if (key == "user") {
    if (!v.is_string() && !v.is_null()) return Bad(param, key, "'user' must be a string");
  } else if (key == "logprobs" || key == "top_logprobs" || key == "suffix") {
    if (!v.is_null() && !(v.is_boolean() && !v.get<bool>())) return Bad(param, key, "'" + key + "' is not supported");
  } else if (key == "logit_bias") {
    if (!v.is_null() && !(v.is_object() && v.empty())) return Bad(param, key, "'logit_bias' is not supported");
  } else if (key == "echo") {
    if (!v.is_null() && !(v.is_boolean() && !v.get<bool>())) return Bad(param, key, "'echo' is not supported");
  }
  return Status::Ok();
}

StatusOr<CompletionRequest> Decode(const std::string& body, bool chat, std::string& param) {
  param.clear();
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Bad(param, "", "the request body is not valid JSON");
  if (!j.is_object()) return Bad(param, "", "the request body must be a JSON object");
  CompletionRequest r;
  r.generation.max_new_tokens = 16;  // OpenAI's defaults
  r.generation.sampling.temperature = 1.0f;
  r.generation.sampling.seed = std::random_device{}();
  const std::set<std::string>& own = chat ? kChatFields : kCompletionFields;
  for (const auto& [key, v] : j.items()) {
    if (kCommonFields.count(key)) {
      TS_RETURN_IF_ERROR(DecodeCommon(key, v, r, param));
    } else if (!own.count(key)) {
      return Bad(param, key, "unknown field '" + key + "'");
    } else if (key == "prompt") {
      TS_RETURN_IF_ERROR(DecodePrompt(v, r, param));
    } else if (kConversationFields.count(key)) {
      continue;
    } else {
      TS_RETURN_IF_ERROR(DecodeCommon(key, v, r, param));  // max_completion_tokens, top_logprobs, echo, suffix
    }
  }
  if (r.model.empty()) return Bad(param, "model", "'model' is required");
  if (chat) TS_RETURN_IF_ERROR(DecodeChatConversation(body, r, param));
  if (!chat && !r.prompt_text && r.generation.prompt.empty()) return Bad(param, "prompt", "'prompt' is required");
  return r;
}

}  // namespace

StatusOr<CompletionRequest> DecodeCompletionRequest(const std::string& body, std::string& param) {
  return Decode(body, false, param);
}

StatusOr<CompletionRequest> DecodeChatRequest(const std::string& body, std::string& param) {
  return Decode(body, true, param);
}

const char* FinishReason(generate::StopReason reason) {
  return reason == generate::StopReason::kMaxNewTokens ? "length" : "stop";
}

std::string EncodeCompletion(const std::string& id, int64_t created, const std::string& model,
                             const CompletionChoice* choice, const CompletionUsage* usage) {
  json j = {{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", model}};
  j["choices"] = json::array();
  if (choice) {
    j["choices"].push_back({{"index", 0},
                            {"text", choice->text},
                            {"token_ids", choice->token_ids},
                            {"logprobs", nullptr},
                            {"finish_reason", choice->finish_reason ? json(choice->finish_reason) : json(nullptr)}});
  }
  if (usage) {
    j["usage"] = {{"prompt_tokens", usage->prompt_tokens},
                  {"completion_tokens", usage->completion_tokens},
                  {"total_tokens", usage->prompt_tokens + usage->completion_tokens}};
  }
  // Invalid UTF-8 from a partial character is replaced rather than thrown on.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string EncodeModelList(const std::vector<ModelListEntry>& models) {
  json data = json::array();
  for (const ModelListEntry& m : models) {
    data.push_back({{"id", m.id},
                    {"object", "model"},
                    {"created", m.created},
                    {"owned_by", "tessera"},
                    {"max_model_len", m.context_length}});
  }
  return json({{"object", "list"}, {"data", data}}).dump();
}

std::string EncodeOpenAiError(int http_status, const std::string& message, const std::string& param,
                              const std::string& code) {
  const char* type = http_status == 401   ? "authentication_error"
                     : http_status == 404 ? "not_found_error"
                     : http_status < 500  ? "invalid_request_error"
                                          : "server_error";
  json error = {{"message", message}, {"type", type}, {"param", param.empty() ? json(nullptr) : json(param)},
                {"code", code.empty() ? json(nullptr) : json(code)}};
  return json({{"error", error}}).dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace tessera::serve::http
