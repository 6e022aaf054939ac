// Plan degree resolution and grid coordinates.
#include "parallel/plan_spec.h"

#include <string>

namespace tessera {

Status ResolvePlan(PlanSpec& spec, int world_size) {
  if (spec.pp < 1 || spec.tp < 1 || spec.dp < 0 || spec.micro_batches < 1) {
    return InvalidArgument("plan degrees must be positive (dp " + std::to_string(spec.dp) + ", pp " + std::to_string(spec.pp) +
                           ", tp " + std::to_string(spec.tp) + ")");
  }
  const int inner = spec.pp * spec.tp;
  if (spec.dp == 0) {
    if (world_size % inner != 0) {
      return InvalidArgument("pp " + std::to_string(spec.pp) + " x tp " + std::to_string(spec.tp) + " = " + std::to_string(inner) +
                             " does not divide the " + std::to_string(world_size) + " ranks");
    }
    spec.dp = world_size / inner;
  }
  if (static_cast<long>(spec.dp) * inner != world_size) {
    return InvalidArgument("dp " + std::to_string(spec.dp) + " x pp " + std::to_string(spec.pp) + " x tp " + std::to_string(spec.tp) +
                           " = " + std::to_string(static_cast<long>(spec.dp) * inner) + " ranks, but the job has " +
                           std::to_string(world_size) + " (start it with mpirun -np " + std::to_string(static_cast<long>(spec.dp) * inner) + ")");
  }
  return Status::Ok();
}

GridPosition PositionOf(const PlanSpec& spec, int rank) {
  GridPosition p;
  p.shard = rank % spec.tp;
  p.stage = (rank / spec.tp) % spec.pp;
  p.data = rank / (spec.tp * spec.pp);
  return p;
}

}  // namespace tessera
