// Data parallelism: one batch split over the replicas of a communicator, run, and gathered in order.
//
// Every rank holds the same model. The root reads the inputs; each input whose first dim is the batch
// (the first dim of the first input) is cut into contiguous, as-even-as-possible slices (10 over 4 ranks:
// 3 3 2 2; a batch smaller than the replica count leaves some replicas idle), other inputs go whole to
// everyone. Each output is joined on its batch axis: the axis the model leaves symbolic whose size
// follows the slice (so LSTM-style [seq, batch, ...] outputs gather correctly), else axis 0.
#pragma once

#include <utility>
#include <vector>

#include "parallel/comm/communicator.h"
#include "tessera/session.h"

namespace tessera {

// On the root, `feeds` are the inputs in session->inputs() order and the result is the full outputs in
// session->outputs() order; on other ranks `feeds` is ignored and the result is empty. A failure that
// every rank sees the same way (bad inputs on the root) returns the same error on every rank; a failure
// on one replica ends the job through Communicator::Abort, since its peers would wait forever.
StatusOr<std::vector<Tensor>> RunDataParallel(Session& session, Communicator& comm,
                                              const std::vector<Tensor>& feeds, int root = 0);

}  // namespace tessera
