// The chat half of the OpenAI-compatible API's JSON: a request's conversation in (messages, tools,
// chat_template_kwargs) and chat.completion / chat.completion.chunk objects out.
//
// The conversation is read with its keys in the client's order (a template's tojson prints them so) and
// put in the shape chat templates expect, as Hugging Face's and vLLM's servers do: a content given as a
// list of text parts becomes one string (the parts joined by "\n"), and a tool call's `arguments` sent as
// a JSON string becomes the object it holds.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "serve/http/openai_codec.h"

namespace tessera::serve::http {

// Fills r.chat from the body of a chat request (already checked as JSON by DecodeChatRequest).
// InvalidArgument naming the message and field at fault; `param` names the request field.
Status DecodeChatConversation(const std::string& body, CompletionRequest& r, std::string& param);

// A whole chat completion: choices[0].message {role: "assistant", content}, finish_reason, usage.
std::string EncodeChatCompletion(const std::string& id, int64_t created, const std::string& model,
                                 const CompletionChoice& choice, const CompletionUsage& usage);
// One chat.completion.chunk: `choice` carries the delta's content (the first chunk also the role, with
// `with_role`) and, in the last, the finish_reason; a null choice gives the usage chunk (choices: []).
std::string EncodeChatChunk(const std::string& id, int64_t created, const std::string& model,
                            const CompletionChoice* choice, bool with_role, const CompletionUsage* usage);

}  // namespace tessera::serve::http
