// ModelConfig: how one model of the repository is served, read from REPO/<model>/config.json.
//
// Every field is optional; a missing file or field takes the default read from the model itself (see
// ResolveModelConfig). The format is documented in docs/serving.md ("Model repository").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tessera/session.h"
#include "tessera/status.h"

namespace tessera::serve {

struct DynamicBatchingConfig {
  std::vector<int64_t> preferred_batch_sizes;  // a batch reaching one of these sizes runs at once
  int64_t max_queue_delay_us = 0;              // longest wait of a queued request for others to join it
};

// How one instance of the model is spread over processes; every factor > 1 needs an MPI-backed runner.
struct ParallelConfig {
  int dp = 1;
  int pp = 1;
  int tp = 1;
  bool distributed() const { return dp > 1 || pp > 1 || tp > 1; }
};

// Which versions of the model are loaded (Triton's version_policy).
struct VersionPolicy {
  enum class Kind { kLatest, kAll, kSpecific };
  Kind kind = Kind::kLatest;
  int64_t num_versions = 1;       // kLatest: this many of the highest versions
  std::vector<int64_t> versions;  // kSpecific: exactly these, sorted
};

struct ModelConfig {
  std::optional<int64_t> max_batch_size;                  // 0 = dim 0 is not a batch; unset = read from the model
  std::optional<DynamicBatchingConfig> dynamic_batching;  // unset = every request runs alone
  int instance_count = 1;                                 // sessions serving the model's queue, each on its own thread
  int threads = 0;                                        // intra-op threads per instance; 0 = the server's default
  int64_t max_queue_size = 0;                             // requests waiting beyond this are refused; 0 = no limit
  VersionPolicy version_policy;
  ParallelConfig parallel;
};

// The versions `policy` selects among `available` (ascending), ascending. NotFound naming the model when
// a specific version is not on disk.
StatusOr<std::vector<int64_t>> SelectVersions(const VersionPolicy& policy, const std::vector<int64_t>& available,
                                              const std::string& model_name);

// Parses config.json text. InvalidArgument naming `model_name` and the field for malformed JSON, unknown
// fields (a typo should not be silently ignored), wrong types and out-of-range values.
StatusOr<ModelConfig> ParseModelConfig(const std::string& json_text, const std::string& model_name);

// What the server does with a model once its config has been checked against the model's signature.
struct ServingPlan {
  bool batchable = false;      // dim 0 of every input and output is the batch
  int64_t max_batch_size = 0;  // largest batch a request may carry (0 = no limit); only when batchable
  std::optional<DynamicBatchingConfig> dynamic_batching;  // only when batchable
  int instance_count = 1;
  int threads = 1;
  int64_t max_queue_size = 0;
  ParallelConfig parallel;
};

// Intra-op threads per instance: the config's, else the server's default, else the machine's cores shared
// among the instances (they run at the same time; sharing keeps them from fighting over cores).
int InstanceThreads(const ModelConfig& config, int default_threads);

// Combines `config` with the model's declared inputs and outputs. Without max_batch_size the model is
// batchable (with no limit) when every input and output has a dynamic dim 0. An explicit max_batch_size > 0
// on a model whose dim 0 is fixed is an InvalidArgument naming the tensor. `default_threads` is the server's
// per-instance default (0 = the machine's cores shared among the instances).
StatusOr<ServingPlan> ResolveModelConfig(const ModelConfig& config, const std::vector<TensorInfo>& inputs,
                                         const std::vector<TensorInfo>& outputs, const std::string& model_name,
                                         int default_threads);

}  // namespace tessera::serve
