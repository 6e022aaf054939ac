// Ensembles: several models run over the same inputs, on different ranks, outputs combined on rank 0.
//
// Model i runs on rank i % world size (round-robin; a world of one runs them all; ranks beyond the
// model count load nothing and only take part in the collectives). Rank 0 reads the inputs and
// broadcasts them; every model gets every input, matched to its inputs by name. Each rank sends its
// models' outputs to rank 0, which combines them by position (ensemble_aggregate.h) and names the
// results after the first model's outputs.
//
// Failure: loading, the root's inputs and running are each agreed on by every rank, so a bad model or
// input anywhere gives every rank an error (the failing rank's own message on that rank) and nobody
// hangs. A mismatch between the models' outputs is found on rank 0 alone, which returns it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "parallel/comm/communicator.h"
#include "parallel/ensemble/ensemble_aggregate.h"
#include "tessera/session.h"

namespace tessera {

constexpr int kEnsembleOutputsTag = 4200;

struct EnsembleRequest {
  std::vector<std::string> model_paths;                      // at least one
  std::vector<std::pair<std::string, std::string>> inputs;  // input name, .npy file (read on rank 0)
  EnsembleAggregation aggregation = EnsembleAggregation::kSum;
  SessionOptions options;
};

struct EnsembleResult {
  std::vector<std::string> output_names;  // the first model's
  std::vector<Tensor> outputs;            // combined; empty on ranks other than 0
};

// Every rank of `comm` calls this with the same request. On failure, `failed_here` (when given) says
// whether the error is this rank's own (its model or run) rather than news of another rank's.
StatusOr<EnsembleResult> RunEnsemble(Communicator& comm, const EnsembleRequest& request, bool* failed_here = nullptr);

// Which models rank `rank` of `world_size` runs.
std::vector<size_t> EnsembleModelsOfRank(size_t model_count, int rank, int world_size);

}  // namespace tessera
