// The OpenAI-compatible endpoints of a server that relays generation to worker processes (OpenAiRelay,
// serve/openai_relay.h): requests go on as they came, answers and server-sent events come back as the
// worker wrote them.
#pragma once

#include <httplib.h>

#include "serve/openai_relay.h"

namespace tessera::serve::http {

// POST /v1/completions and /v1/chat/completions: streamed when the body says "stream": true.
void RelayCompletion(OpenAiRelay& relay, const httplib::Request& req, httplib::Response& res);
// GET /v1/models.
void RelayGet(OpenAiRelay& relay, const httplib::Request& req, httplib::Response& res);

}  // namespace tessera::serve::http
