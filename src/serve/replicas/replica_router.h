// ReplicaRouter: sends a request to a healthy replica and decides, from what came back, whether to send
// it once more to another one.
//
// Policy (docs/serving.md, "Replicas and failover"):
//   - no answer (connection refused or reset, timed out): the replica is marked down at once and the
//     request goes once to another healthy replica (inference is idempotent);
//   - 502 or 503 (a server shutting down or overloaded): the request goes once to another healthy replica;
//     the replica's health is left to its probes;
//   - any other answer, 4xx included, is the answer: returned as it is, never retried;
//   - no healthy replica (or none left for the retry after a lost request): Unavailable (503) naming the
//     replicas and what happened to them.
#pragma once

#include <functional>
#include <string>

#include "serve/replicas/replica_set.h"
#include "tessera/status.h"

namespace tessera::serve::replicas {

enum class ReplyVerdict {
  kAnswer,   // give it to the client
  kLost,     // no answer: the replica is down; try another
  kRefused,  // a live server turned it away for now; try another
};

ReplyVerdict JudgeReply(const ReplicaReply& reply);

// "no healthy replica for <what>: ..." with each replica's state, for a 503.
Status NoHealthyReplica(const ReplicaSet& set, const std::string& what, const std::string& tried);

class ReplicaRouter {
 public:
  explicit ReplicaRouter(ReplicaSet& set) : set_(set) {}

  using Attempt = std::function<ReplicaReply(ReplicaTransport&)>;
  // The reply to give the client (any status), or Unavailable. `what` names the request in errors
  // ("inference of model 'm'").
  StatusOr<ReplicaReply> Send(const std::string& what, const Attempt& attempt);

 private:
  ReplicaSet& set_;
};

}  // namespace tessera::serve::replicas
