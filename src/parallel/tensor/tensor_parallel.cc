// MakeTensorParallelRewrite: plan, apply for this rank, then let go of the full weights.
#include "parallel/tensor/tensor_parallel.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "parallel/comm/communicator_registry.h"
#include "parallel/tensor/shard_apply.h"
#include "parallel/tensor/shard_description.h"

namespace tessera {

namespace {

bool DebugLogging() {
  const char* level = std::getenv("TESSERA_LOG");
  return level != nullptr && std::strcmp(level, "debug") == 0;
}

}  // namespace

StatusOr<GraphRewrite> MakeTensorParallelRewrite(Communicator& tp_comm) {
  return MakeTensorParallelRewrite(tp_comm, TensorParallelOptions{});
}

StatusOr<GraphRewrite> MakeTensorParallelRewrite(Communicator& tp_comm, const TensorParallelOptions& options) {
  if (tp_comm.size() == 1) return GraphRewrite{};
  // Shared by every copy of the rewrite; the kernels keep the communicator itself once created.
  auto registration = std::make_shared<CommunicatorRegistration>(tp_comm);
  Communicator* comm = &tp_comm;
  return GraphRewrite([registration, comm, options](Graph& graph) -> Status {
    TS_ASSIGN_OR_RETURN(ShardPlan plan, PlanTensorShards(graph, comm->size(), options));
    if (DebugLogging()) {
      auto description = DescribeTensorParallel(graph, comm->size(), {}, options);
      if (description.ok()) std::fprintf(stderr, "tessera: rank %d of tp group: %s", comm->rank(), description->Summary().c_str());
    }
    std::set<int> before;
    for (const auto& [id, t] : graph.constants) before.insert(id);
    TS_RETURN_IF_ERROR(ApplyShardPlan(graph, plan, comm->rank(), registration->handle()));
    // The loader leaves large weights pointing into the parsed model; copying the replicated ones out
    // lets the model (with the full weights that were just sliced) be freed.
    std::set<int> own;
    for (const auto& [id, t] : graph.constants) {
      if (!before.count(id)) own.insert(id);
    }
    return DetachConstantsFromModel(graph, own).status();
  });
}

}  // namespace tessera
