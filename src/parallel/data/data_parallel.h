// Data parallelism: one batch split over the replicas of a communicator, run, and gathered in order.
//
// Every rank holds the same model. The root reads the inputs and cuts the batch into one slice per
// replica (data/batch_split.h: 10 over 4 ranks: 3 3 2 2; a batch smaller than the replica count leaves
// some replicas idle); the outputs are joined on their batch axis.
#pragma once

#include <utility>
#include <vector>

#include "parallel/comm/communicator.h"
#include "parallel/data/batch_split.h"
#include "tessera/session.h"

namespace tessera {

// On the root, `feeds` are the inputs in session->inputs() order and the result is the full outputs in
// session->outputs() order; on other ranks `feeds` is ignored and the result is empty. A failure that
// every rank sees the same way (bad inputs on the root) returns the same error on every rank; a failure
// on one replica ends the job through Communicator::Abort, since its peers would wait forever.
StatusOr<std::vector<Tensor>> RunDataParallel(Session& session, Communicator& comm,
                                              const std::vector<Tensor>& feeds, int root = 0);

// The pieces RunDataParallel is made of, for plans that run something else per replica (plan_runner.h).
// Both are collective over `comm`, whose ranks are the replicas, slice r going to rank r. Whether slice r
// runs: rows > 0, or the batch is empty and r is the root (so the outputs still get their shapes).
bool BatchSliceRuns(const BatchSlices& slices, int r, int root);

// The root cuts `feeds` and sends each running replica its slice; every running rank gets its own
// `input_count` tensors (idle ranks get none). Transport failures abort the job.
std::vector<Tensor> ScatterBatch(Communicator& comm, const std::vector<Tensor>& feeds, size_t input_count,
                                 const BatchSlices& slices, int root);

// Each running replica passes its outputs; the root gets them joined in replica order, others an empty
// vector. `outputs` describe the tensors (for the batch axis); errors name `model_name`.
StatusOr<std::vector<Tensor>> GatherBatch(Communicator& comm, const std::vector<Tensor>& mine,
                                          const std::vector<TensorInfo>& outputs, const BatchSlices& slices,
                                          int root, const std::string& model_name);

}  // namespace tessera
