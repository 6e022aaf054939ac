// OpenAiRelay: the OpenAI-compatible endpoints served by other processes, for a server that routes to
// worker `tessera serve` processes (serve/replicas/) and runs no decoder itself.
//
// The HTTP front end (http/openai_endpoints.h) hands such a server's requests over as they came: the
// relay chooses a worker, sends them on and gives back its answer, or for a streaming completion the
// worker's server-sent events as they arrive. A relay never cuts a stream silently: when the worker is
// lost after events were sent, the stream ends with an error event and `data: [DONE]`.
//
// Thread safety: every method may be called from many threads at once; one stream from one thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>

namespace tessera::serve {

struct RelayedAnswer {
  int status = 0;
  std::string content_type;
  std::string body;
};

// The events of one streaming completion.
class RelayedStream {
 public:
  virtual ~RelayedStream() = default;  // ends the worker's request if it is still going
  // Waits up to `wait` for more, appends whole events ("data: ...\n\n") to `events`; false once the
  // stream has ended and its last events are in `events`.
  virtual bool Next(std::chrono::milliseconds wait, std::string& events) = 0;
};

class OpenAiRelay {
 public:
  virtual ~OpenAiRelay() = default;

  virtual RelayedAnswer Get(const std::string& path) = 0;
  // A request answered in one piece (a completion without "stream": true).
  virtual RelayedAnswer Post(const std::string& path, const std::string& body) = 0;

  // A streaming completion: a stream once the first event has come, or else the answer that ends the
  // request (the worker's refusal, or 503 when no worker could start it).
  struct Opened {
    std::unique_ptr<RelayedStream> stream;
    RelayedAnswer answer;  // when there is no stream
  };
  virtual Opened OpenStream(const std::string& path, const std::string& body) = 0;
};

}  // namespace tessera::serve
