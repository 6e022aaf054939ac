// Streaming completions relayed from a replica: the worker's server-sent events passed on as they come.
//
// A stream is opened on a healthy replica and read on a thread of its own until its first whole event.
// If the replica is lost (or refuses with 502/503) before that, nothing has reached the client and the
// request goes once to another healthy replica. Once events flow, a lost replica cannot be replaced
// (the tokens sent would differ): the stream ends with an error event in OpenAI's shape, then
// `data: [DONE]`, never with a silent cut. Events are passed on whole, so the error event never lands
// inside a half-sent one.
#pragma once

#include <string>

#include "serve/openai_relay.h"
#include "serve/replicas/replica_set.h"

namespace tessera::serve::replicas {

OpenAiRelay::Opened OpenReplicaStream(ReplicaSet& set, const std::string& path, const std::string& body);

// The whole events at the front of `pending` ("...\n\n"), removed from it and appended to `events`;
// returns how many, and sets `saw_done` when one of them is `data: [DONE]`.
size_t TakeWholeEvents(std::string& pending, std::string& events, bool& saw_done);

}  // namespace tessera::serve::replicas
