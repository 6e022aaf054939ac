// Handlers of the OpenAI-compatible endpoints (openai_endpoints.h).
#include "serve/http/openai_endpoints.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "serve/generation_model.h"
#include "serve/http/http_status.h"
#include "serve/http/openai_chat_codec.h"
#include "serve/http/openai_codec.h"
#include "serve/http/openai_relayed.h"
#include "serve/http/request_log.h"

namespace tessera::serve::http {

namespace {

constexpr const char* kJson = "application/json";
// How long a streaming response waits for a token before it checks that the client is still there.
constexpr auto kConnectionCheckInterval = std::chrono::milliseconds(50);

std::atomic<uint64_t> next_completion_id{1};

void ReplyOpenAiError(httplib::Response& res, int http_status, const std::string& message,
                      const std::string& param = "", const std::string& code = "") {
  res.status = http_status;
  res.set_content(EncodeOpenAiError(http_status, message, param, code), kJson);
}

void ReplyOpenAiError(httplib::Response& res, const Status& status, const std::string& param = "") {
  const int http_status = HttpStatusFor(status.code());
  const char* code = http_status == 404 ? "model_not_found" : http_status == 503 ? "server_busy" : "";
  ReplyOpenAiError(res, http_status, status.message(), param, code);
}

// A refusal decided at admission (bearer token, body size) is answered in OpenAI's shape.
httplib::Server::Handler Admitted(httplib::Server::Handler handler) {
  return [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
    const RequestLogContext& context = CurrentRequestLog();
    if (context.refused_status != 0) {
      if (context.refused_status == 401) res.set_header("WWW-Authenticate", "Bearer");
      return ReplyOpenAiError(res, context.refused_status, context.refused_message);
    }
    handler(req, res);
  };
}

// What the scheduler's thread hands a request's HTTP thread: tokens as they come, then the end.
struct TokenChannel {
  struct Token {
    generate::TokenId id;
    std::string text;
  };
  std::mutex mu;
  std::condition_variable ready;
  std::deque<Token> tokens;
  std::optional<StatusOr<generate::GenerationResult>> result;

  generate::GenerationSink Sink(const std::shared_ptr<TokenChannel>& self) {
    return {[self](generate::TokenId id, const std::string& text) {
              std::lock_guard<std::mutex> lock(self->mu);
              self->tokens.push_back({id, text});
              self->ready.notify_all();
            },
            [self](StatusOr<generate::GenerationResult> r) {
              std::lock_guard<std::mutex> lock(self->mu);
              self->result = std::move(r);
              self->ready.notify_all();
            }};
  }
};

// One accepted completion: the model, its ticket and what the response needs to say.
struct Completion {
  explicit Completion(bool chat) : chat(chat) {}

  const bool chat;  // a chat completion (chat.completion objects) rather than a text_completion
  std::shared_ptr<GenerationModel> model;
  std::shared_ptr<generate::GenerationTicket> ticket;
  std::shared_ptr<TokenChannel> channel = std::make_shared<TokenChannel>();
  std::string id = (chat ? "chatcmpl-" : "cmpl-") + std::to_string(next_completion_id++);
  int64_t created = 0;
  bool role_sent = false;  // chat streams: the first chunk carries the role
  int64_t prompt_tokens = 0;
  std::vector<generate::TokenId> stops;  // token ids left out of token_ids (stop tokens)
  bool include_usage = false;
  bool finished = false;
};

StatusOr<std::vector<generate::TokenId>> EncodePrompt(const GenerationModel& model, const std::string& text) {
  if (!model.codec()) {
    return InvalidArgument("model '" + model.name() + "' has no tokenizer, so a text prompt cannot be encoded (" +
                           model.no_codec_reason() + "); send the prompt as an array of token ids");
  }
  return model.codec()->Encode(text);
}

// A chat request's prompt: its messages through the model's chat template (with the generation prompt),
// encoded without adding special tokens, as transformers' apply_chat_template(tokenize=True) does: the
// template writes BOS and the turn markers itself. `code` is set for the error of a model with no
// template.
StatusOr<std::vector<generate::TokenId>> ChatPrompt(const GenerationModel& model, const CompletionRequest& request,
                                                    std::string& code) {
  if (!model.chat_template()) {
    code = "no_chat_template";
    return InvalidArgument("model '" + model.name() + "' has no chat template, so messages cannot be turned into a "
                           "prompt (" + model.no_chat_template_reason() + "); use /v1/completions");
  }
  if (!model.codec()) {
    return InvalidArgument("model '" + model.name() + "' has no tokenizer, so its chat prompt cannot be encoded (" +
                           model.no_codec_reason() + "); use /v1/completions with token ids");
  }
  generate::ChatInput input;
  input.messages = request.chat.messages;
  input.tools = request.chat.tools;
  input.variables = request.chat.variables;
  input.add_generation_prompt = true;
  auto text = model.chat_template()->Render(input);
  if (!text.ok()) {
    return text.status().WithContext("model '" + model.name() + "': the chat template refused the messages");
  }
  return model.codec()->EncodeWithoutSpecialTokens(*text);
}

std::vector<generate::TokenId> StopTokens(const GenerationModel& model, const generate::GenerationRequest& g) {
  std::vector<generate::TokenId> stops = g.stop_tokens;
  if (g.stop_at_eos) {
    const auto& eos = model.decoder().defaults().eos_token_ids;
    stops.insert(stops.end(), eos.begin(), eos.end());
  }
  return stops;
}

bool IsStop(const Completion& c, generate::TokenId id) {
  return std::find(c.stops.begin(), c.stops.end(), id) != c.stops.end();
}

CompletionUsage Usage(const Completion& c, const generate::GenerationResult& r) {
  return {c.prompt_tokens, static_cast<int64_t>(r.tokens.size())};
}

// The body of a non-streaming response, once the result is in.
std::string WholeCompletion(const Completion& c, const generate::GenerationResult& r) {
  CompletionChoice choice;
  choice.text = r.text;
  choice.token_ids = r.tokens;
  if (!choice.token_ids.empty() && r.stop_reason == generate::StopReason::kStopToken) choice.token_ids.pop_back();
  choice.finish_reason = FinishReason(r.stop_reason);
  const CompletionUsage usage = Usage(c, r);
  if (c.chat) return EncodeChatCompletion(c.id, c.created, c.model->name(), choice, usage);
  return EncodeCompletion(c.id, c.created, c.model->name(), &choice, &usage);
}

bool WriteEvent(httplib::DataSink& sink, const std::string& data) {
  const std::string event = "data: " + data + "\n\n";
  return sink.write(event.data(), event.size());
}

// One stream chunk in the completion's form; a chat stream's first chunk also carries the role.
std::string Chunk(Completion& c, const CompletionChoice* choice, const CompletionUsage* usage) {
  if (!c.chat) return EncodeCompletion(c.id, c.created, c.model->name(), choice, usage);
  const bool with_role = choice && !c.role_sent;
  if (with_role) c.role_sent = true;
  return EncodeChatChunk(c.id, c.created, c.model->name(), choice, with_role, usage);
}

// The chunked content provider's body: waits for the next tokens (or the end) and writes them as events.
// Returns false to abort the response (the client is gone); cancels the sequence then.
bool StreamMore(const std::shared_ptr<Completion>& c, httplib::DataSink& sink) {
  std::deque<TokenChannel::Token> tokens;
  std::optional<StatusOr<generate::GenerationResult>> result;
  {
    std::unique_lock<std::mutex> lock(c->channel->mu);
    c->channel->ready.wait_for(lock, kConnectionCheckInterval,
                               [&] { return !c->channel->tokens.empty() || c->channel->result.has_value(); });
    tokens.swap(c->channel->tokens);
    if (c->channel->result) result = std::move(c->channel->result);
  }
  if (tokens.empty() && !result) {
    if (sink.is_writable()) return true;
    c->model->Cancel(*c->ticket);
    return false;
  }
  for (const TokenChannel::Token& t : tokens) {
    CompletionChoice choice;
    choice.text = t.text;
    if (!IsStop(*c, t.id)) choice.token_ids = {t.id};
    if (choice.text.empty() && choice.token_ids.empty()) continue;
    if (!WriteEvent(sink, Chunk(*c, &choice, nullptr))) {
      c->model->Cancel(*c->ticket);
      return false;
    }
  }
  if (!result) return true;
  c->finished = true;
  if (!result->ok()) {
    const Status& s = result->status();
    WriteEvent(sink, EncodeOpenAiError(HttpStatusFor(s.code()), s.message(), "", ""));
  } else {
    CompletionChoice last;
    last.finish_reason = FinishReason((*result)->stop_reason);
    WriteEvent(sink, Chunk(*c, &last, nullptr));
    if (c->include_usage) {
      const CompletionUsage usage = Usage(*c, **result);
      WriteEvent(sink, Chunk(*c, nullptr, &usage));
    }
  }
  WriteEvent(sink, "[DONE]");
  sink.done();
  return true;
}

void Complete(InferenceService& service, const httplib::Request& req, httplib::Response& res, bool chat) {
  if (OpenAiRelay* relay = service.openai_relay()) return RelayCompletion(*relay, req, res);
  std::string param;
  auto decoded = chat ? DecodeChatRequest(req.body, param) : DecodeCompletionRequest(req.body, param);
  if (!decoded.ok()) return ReplyOpenAiError(res, decoded.status(), param);
  CurrentRequestLog().model = decoded->model;
  auto model = service.FindGenerationModel(decoded->model);
  if (!model.ok()) return ReplyOpenAiError(res, model.status(), "model");
  generate::GenerationRequest& g = decoded->generation;
  if (chat) {
    std::string code;
    auto ids = ChatPrompt(**model, *decoded, code);
    if (!ids.ok()) return ReplyOpenAiError(res, 400, ids.status().message(), "messages", code);
    g.prompt = std::move(*ids);
  } else if (decoded->prompt_text) {
    auto ids = EncodePrompt(**model, *decoded->prompt_text);
    if (!ids.ok()) return ReplyOpenAiError(res, ids.status(), "prompt");
    g.prompt = std::move(*ids);
  }
  auto c = std::make_shared<Completion>(chat);
  c->model = *model;
  c->created = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count();
  c->prompt_tokens = static_cast<int64_t>(g.prompt.size());
  c->stops = StopTokens(**model, g);
  c->include_usage = decoded->include_usage;
  auto ticket = c->model->Submit(std::move(g), c->channel->Sink(c->channel));
  if (!ticket.ok()) return ReplyOpenAiError(res, ticket.status());
  c->ticket = *ticket;

  if (!decoded->stream) {
    std::unique_lock<std::mutex> lock(c->channel->mu);
    c->channel->ready.wait(lock, [&] { return c->channel->result.has_value(); });
    const StatusOr<generate::GenerationResult>& result = *c->channel->result;
    if (!result.ok()) return ReplyOpenAiError(res, result.status());
    res.status = 200;
    res.set_content(WholeCompletion(*c, *result), kJson);
    return;
  }
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream", [c](size_t, httplib::DataSink& sink) { return StreamMore(c, sink); },
      [c](bool success) {
        if (!success || !c->finished) c->model->Cancel(*c->ticket);  // the response ended early
      });
}

}  // namespace

void RegisterOpenAiEndpoints(httplib::Server& server, InferenceService& service) {
  server.Get("/v1/models", Admitted([&service](const httplib::Request& req, httplib::Response& res) {
               if (OpenAiRelay* relay = service.openai_relay()) return RelayGet(*relay, req, res);
               std::vector<ModelListEntry> entries;
               for (const auto& m : service.GenerationModels()) {
                 entries.push_back({m->name(), m->created_unix_seconds(), m->decoder().defaults().context_length});
               }
               res.status = 200;
               res.set_content(EncodeModelList(entries), kJson);
             }));
  server.Post("/v1/completions", Admitted([&service](const httplib::Request& req, httplib::Response& res) {
                Complete(service, req, res, false);
              }));
  server.Post("/v1/chat/completions", Admitted([&service](const httplib::Request& req, httplib::Response& res) {
                Complete(service, req, res, true);
              }));
}

}  // namespace tessera::serve::http
