// The OpenAI-compatible generation endpoints beside KServe v2 (docs/serving.md, "OpenAI-compatible
// generation"): GET /v1/models, POST /v1/completions, POST /v1/chat/completions, over the service's
// generation models (serve/generation_model.h).
//
// Streaming (`"stream": true`) answers server-sent events through cpp-httplib's chunked content provider:
// one `data: {chunk}\n\n` per token, a last chunk with finish_reason, then `data: [DONE]\n\n`. The provider
// waits for tokens in short slices and checks the connection between them, so a client that goes away
// cancels its sequence within one slice or one token, whichever comes first. Errors use OpenAI's shape,
// {"error": {"message", "type", "param", "code"}}. A server with an OpenAiRelay (one that routes to worker
// processes) hands these requests to it instead (openai_relayed.h).
#pragma once

#include <httplib.h>

#include "serve/inference_service.h"

namespace tessera::serve::http {

// `service` must outlive `server`.
void RegisterOpenAiEndpoints(httplib::Server& server, InferenceService& service);

}  // namespace tessera::serve::http
