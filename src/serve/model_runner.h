// ModelRunner: one instance of a model, the unit the scheduler hands batches to.
//
// The single-process runner wraps a Session. The interface is what a distributed runner (an instance
// spread over MPI ranks with data, pipeline or tensor parallelism) implements to plug into the same
// queues: it receives whole batches and returns whole outputs, wherever the work happens.
//
// Thread safety: Run is called from one thread at a time per runner (the instance's own thread).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "serve/model_config.h"
#include "tessera/session.h"
#include "tessera/status.h"
#include "tessera/tensor.h"

namespace tessera::serve {

using Feeds = std::vector<std::pair<std::string, Tensor>>;

class ModelRunner {
 public:
  virtual ~ModelRunner() = default;
  virtual const std::vector<TensorInfo>& inputs() const = 0;
  virtual const std::vector<TensorInfo>& outputs() const = 0;
  // Runs the model on `feeds` (every input once) and returns every output in the order of outputs().
  virtual StatusOr<std::vector<Tensor>> Run(const Feeds& feeds) = 0;
};

// A runner for the model at `model_path` as `plan` says (threads, parallelism). A plan that spreads an
// instance over several processes gets its MPI group's runner (distributed/mpi_serving.h).
StatusOr<std::unique_ptr<ModelRunner>> CreateModelRunner(const std::string& model_path, const ServingPlan& plan,
                                                         const std::string& model_name);

// Reads only the model's signature, for resolving its config before instances are created.
StatusOr<std::unique_ptr<ModelRunner>> CreateSessionRunner(const std::string& model_path, int threads);

}  // namespace tessera::serve
