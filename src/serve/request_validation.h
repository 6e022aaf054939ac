// Checking an inference request against the model it names, before it is queued.
//
// Everything a client sends is checked here (names, dtypes, ranks, fixed dims, data sizes, batch size), so
// a request that reaches an instance can only fail inside the model itself. Errors name the model and
// the input or output at fault.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "serve/inference_service.h"
#include "serve/model_runner.h"

namespace tessera::serve {

// What validation needs to know of a loaded model version.
struct ModelSignature {
  std::string model_name;
  std::string version;
  std::vector<TensorInfo> inputs;
  std::vector<TensorInfo> outputs;
  bool batchable = false;      // dim 0 of every input and output is the batch
  int64_t max_batch_size = 0;  // 0 = no limit
};

struct ValidatedRequest {
  Feeds feeds;                         // in the model's input order
  std::vector<size_t> output_indices;  // indices into signature.outputs, in the order the response lists them
  int64_t rows = 1;                    // batch rows (dim 0) for a batchable model; 1 otherwise
  // Requests with equal, non-empty keys can be concatenated along dim 0: same dtypes and the same
  // non-batch dims for every input. Empty = this request always runs alone.
  std::string merge_key;
};

// InvalidArgument for missing, unknown or duplicate inputs, a wrong dtype, rank or fixed dim, tensor data
// that does not match its shape, dim 0 differing between inputs or above max_batch_size; NotFound for an
// unknown requested output.
StatusOr<ValidatedRequest> ValidateRequest(const ModelSignature& signature, const InferRequest& request);

}  // namespace tessera::serve
