// Relayed OpenAI-compatible endpoints (openai_relayed.h).
#include "serve/http/openai_relayed.h"

#include <nlohmann/json.hpp>

#include "serve/http/request_log.h"

namespace tessera::serve::http {

namespace {

// How long the stream waits for the worker's next events before it checks that the client is still there.
constexpr auto kConnectionCheckInterval = std::chrono::milliseconds(50);

void Reply(httplib::Response& res, const RelayedAnswer& answer) {
  res.status = answer.status;
  res.set_content(answer.body, answer.content_type.empty() ? "application/json" : answer.content_type);
}

}  // namespace

void RelayGet(OpenAiRelay& relay, const httplib::Request& req, httplib::Response& res) {
  Reply(res, relay.Get(req.path));
}

void RelayCompletion(OpenAiRelay& relay, const httplib::Request& req, httplib::Response& res) {
  // Only what routing needs is read here; the worker checks the request and answers its faults itself.
  const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  bool stream = false;
  if (body.is_object()) {
    if (auto it = body.find("stream"); it != body.end() && it->is_boolean()) stream = it->get<bool>();
    if (auto it = body.find("model"); it != body.end() && it->is_string()) CurrentRequestLog().model = *it;
  }
  if (!stream) return Reply(res, relay.Post(req.path, req.body));

  OpenAiRelay::Opened opened = relay.OpenStream(req.path, req.body);
  if (!opened.stream) return Reply(res, opened.answer);
  std::shared_ptr<RelayedStream> events_from(std::move(opened.stream));
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [events_from](size_t, httplib::DataSink& sink) {
        std::string events;
        const bool more = events_from->Next(kConnectionCheckInterval, events);
        if (!events.empty() && !sink.write(events.data(), events.size())) return false;  // the client is gone
        if (!more) {
          sink.done();
          return true;
        }
        return !events.empty() || sink.is_writable();
      },
      [events_from](bool) {});  // the stream ends the worker's request when the last holder lets go
}

}  // namespace tessera::serve::http
