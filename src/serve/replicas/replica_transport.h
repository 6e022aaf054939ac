// ReplicaTransport: how a routing server (serve/replicas/) reaches one worker `tessera serve` process.
//
// The real one speaks HTTP (http_replica.h); tests put fakes behind the same interface to drive the
// router's retry and health policy without processes. A reply says whether an HTTP answer came back at
// all: "no answer" (refused, reset, timed out) is what a dead process looks like, and only that, with a
// dying server's 502/503, makes the router try another replica.
//
// Thread safety: every method may be called from many threads at once.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tessera::serve::replicas {

using ReplicaHeaders = std::vector<std::pair<std::string, std::string>>;

struct ReplicaReply {
  bool answered = false;     // an HTTP answer came back; false: refused, reset, timed out
  std::string failure;       // why there is no answer, when !answered
  int status = 0;
  std::string content_type;
  std::string body;
  std::string json_length;   // its Inference-Header-Content-Length, "" when absent

  static ReplicaReply NoAnswer(std::string why) {
    ReplicaReply r;
    r.failure = std::move(why);
    return r;
  }
};

// What a streamed answer is handed as it arrives: its status line and headers once, then each piece of
// the body. Returning false from either ends the request (the client went away). `on_stoppable`, when
// set, is given a function that breaks off the request from another thread (a replica that sends nothing
// would otherwise hold it until the read timeout), and an empty function once that is no longer safe.
struct ReplicaStreamSink {
  std::function<bool(int status, const std::string& content_type)> on_answer;
  std::function<bool(std::string_view data)> on_data;
  std::function<void(std::function<void()> stop)> on_stoppable;
};

class ReplicaTransport {
 public:
  virtual ~ReplicaTransport() = default;

  virtual ReplicaReply Get(const std::string& path) = 0;
  virtual ReplicaReply Post(const std::string& path, const std::string& body, const std::string& content_type,
                            const ReplicaHeaders& headers) = 0;
  // A JSON POST whose answer goes to `sink` as it arrives; the reply's body stays empty. A reply without an
  // answer after on_answer was called means the connection broke mid-answer.
  virtual ReplicaReply PostStreaming(const std::string& path, const std::string& body,
                                     const ReplicaStreamSink& sink) = 0;
  // Whether GET /v2/health/ready answers 200, within the transport's short health timeouts.
  virtual bool Ready() = 0;
  // Forgets kept-alive connections: called when the replica failed, so that a restarted process at the
  // same address is reached over fresh ones.
  virtual void DropConnections() {}
};

}  // namespace tessera::serve::replicas
