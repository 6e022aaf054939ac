// ReplicaRouter (replica_router.h): one try, and one more elsewhere when the replica is lost or refuses.
#include "serve/replicas/replica_router.h"

#include <optional>

namespace tessera::serve::replicas {

ReplyVerdict JudgeReply(const ReplicaReply& reply) {
  if (!reply.answered) return ReplyVerdict::kLost;
  if (reply.status == 502 || reply.status == 503) return ReplyVerdict::kRefused;
  return ReplyVerdict::kAnswer;
}

Status NoHealthyReplica(const ReplicaSet& set, const std::string& what, const std::string& tried) {
  std::string message = "no healthy replica for " + what + ": " + std::to_string(set.healthy()) + " of " +
                        std::to_string(set.size()) + " replicas are up";
  if (!tried.empty()) message += "; " + tried;
  message += " (";
  bool first = true;
  for (const ReplicaStatus& s : set.Statuses()) {
    message += (first ? "" : ", ") + s.url + (s.healthy ? " up" : " down");
    if (!s.healthy && !s.last_failure.empty()) message += ": " + s.last_failure;
    first = false;
  }
  return Unavailable(message + ")");
}

StatusOr<ReplicaReply> ReplicaRouter::Send(const std::string& what, const Attempt& attempt) {
  std::optional<size_t> excluded;
  std::optional<ReplicaReply> refused;
  std::string tried;
  for (int round = 0; round < 2; ++round) {
    std::optional<ReplicaLease> lease = set_.Acquire(excluded);
    if (!lease) break;
    if (round == 1) set_.CountRetry();
    ReplicaReply reply = attempt(lease->transport());
    switch (JudgeReply(reply)) {
      case ReplyVerdict::kAnswer:
        return reply;
      case ReplyVerdict::kLost:
        set_.MarkDown(lease->index(), reply.failure);
        tried += (tried.empty() ? "" : "; ") + lease->url() + " gave " + reply.failure;
        break;
      case ReplyVerdict::kRefused:
        tried += (tried.empty() ? "" : "; ") + lease->url() + " answered " + std::to_string(reply.status);
        refused = std::move(reply);
        break;
    }
    excluded = lease->index();
  }
  if (refused) return *std::move(refused);  // a live server's own answer, as it came
  return NoHealthyReplica(set_, what, tried);
}

}  // namespace tessera::serve::replicas
