// Tensor (intra-op) parallelism: one rank's share of the model when its ops are split over a group.
//
// The plan (parallel/tensor/shard_plan.h) splits MLP and attention blocks column-then-row with one
// all-reduce each, other large MatMul/Gemm/Conv layers by output features with an all-gather, and leaves
// the rest replicated; docs/tensor_parallelism.md describes the rules. DescribeTensorParallel
// (shard_description.h) tells what a split does without running it.
#pragma once

#include "parallel/comm/communicator.h"
#include "parallel/tensor/shard_plan.h"
#include "runtime/session_factory.h"

namespace tessera {

// The rewrite that makes this rank of `tp_comm` compute its shards: weights sliced to this rank's part,
// collectives inserted where the full values are needed again. The communicator must outlive every
// session built with the rewrite. A group of one gets an empty rewrite (the model as written).
//
// Every rank computes the same plan from the same file, so a model that cannot be split that way (more
// ranks than a block has heads or channels) fails on every rank with the same message. After the rewrite
// each rank's graph holds only its slices and copies of the replicated weights: nothing points into the
// loaded model any more, so its full weights are freed with it. With TESSERA_LOG=debug each rank prints
// the split's summary on stderr.
StatusOr<GraphRewrite> MakeTensorParallelRewrite(Communicator& tp_comm);
StatusOr<GraphRewrite> MakeTensorParallelRewrite(Communicator& tp_comm, const TensorParallelOptions& options);

}  // namespace tessera
