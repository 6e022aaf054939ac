// Tensor (intra-op) parallelism: one rank's share of the model when its ops are split over a group.
#pragma once

#include "parallel/comm/communicator.h"
#include "runtime/session_factory.h"

namespace tessera {

// The rewrite that makes this rank of `tp_comm` compute its shards: weights sliced to this rank's part,
// collectives inserted where the full values are needed again. The communicator must outlive every
// session built with the rewrite. A group of one gets an empty rewrite (the model as written).
StatusOr<GraphRewrite> MakeTensorParallelRewrite(Communicator& tp_comm);

}  // namespace tessera
