// Placeholder until tensor parallelism lands.
#include "parallel/tensor/tensor_parallel.h"

namespace tessera {

StatusOr<GraphRewrite> MakeTensorParallelRewrite(Communicator& tp_comm) {
  if (tp_comm.size() == 1) return GraphRewrite{};
  return Unimplemented("tensor parallelism (--tp) is not available yet");
}

}  // namespace tessera
