// Test-only: a ReplicaTransport whose answers the test decides, for the router, stream and service tests.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "serve/replicas/replica_set.h"

namespace tessera::serve::replicas::testing {

inline ReplicaReply Answer(int status, std::string body = "{}", std::string json_length = "") {
  ReplicaReply r;
  r.answered = true;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  r.json_length = std::move(json_length);
  return r;
}

class FakeReplica : public ReplicaTransport {
 public:
  // What a request answers; `path` and `body` are what was sent. Default: 200 "{}".
  std::function<ReplicaReply(const std::string& path, const std::string& body)> answer =
      [](const std::string&, const std::string&) { return Answer(200); };
  // What a streaming request does with its sink. Default: no answer.
  std::function<ReplicaReply(const ReplicaStreamSink& sink)> stream = [](const ReplicaStreamSink&) {
    return ReplicaReply::NoAnswer("connection refused");
  };
  std::atomic<bool> ready{true};
  std::atomic<int> requests{0};
  std::atomic<int> drops{0};
  size_t sent_json_length = 0;  // of the last Post; tests read it from their own thread only

  ReplicaReply Get(const std::string& path) override {
    ++requests;
    return answer(path, "");
  }
  ReplicaReply Post(const std::string& path, const std::string& body, const std::string&,
                    const ReplicaHeaders& headers) override {
    ++requests;
    for (const auto& [name, value] : headers) {
      if (name == "Inference-Header-Content-Length") sent_json_length = std::stoul(value);
    }
    return answer(path, body);
  }
  ReplicaReply PostStreaming(const std::string&, const std::string&, const ReplicaStreamSink& sink) override {
    ++requests;
    return stream(sink);
  }
  bool Ready() override { return ready.load(); }
  void DropConnections() override { ++drops; }
};

// A set of `n` fakes at http://replica-<i>, probed once (all up unless a test says otherwise).
struct FakeReplicas {
  explicit FakeReplicas(size_t n) {
    std::vector<ReplicaSet::Member> members;
    for (size_t i = 0; i < n; ++i) {
      auto fake = std::make_unique<FakeReplica>();
      fakes.push_back(fake.get());
      members.push_back({"http://replica-" + std::to_string(i), std::move(fake)});
    }
    set = std::make_unique<ReplicaSet>(std::move(members));
    set->CheckHealth();
  }
  FakeReplica& operator[](size_t i) { return *fakes[i]; }

  std::vector<FakeReplica*> fakes;  // owned by `set`
  std::unique_ptr<ReplicaSet> set;
};

}  // namespace tessera::serve::replicas::testing
