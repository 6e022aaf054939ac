// The parallel plan a user asks for: data (dp), pipeline (pp) and tensor (tp) degrees.
//
// Ranks form a grid with tensor innermost, then pipeline, then data: rank = (d * pp + p) * tp + t.
// D·P·T must equal the world size; by default dp takes whatever pp and tp leave.
#pragma once

#include "tessera/status.h"

namespace tessera {

struct PlanSpec {
  int dp = 0;  // 0: world size / (pp * tp)
  int pp = 1;
  int tp = 1;
  int micro_batches = 1;
};

// Fills dp when unset and checks the grid against `world_size`; the error says what would fit.
Status ResolvePlan(PlanSpec& spec, int world_size);

// This rank's coordinates in the grid.
struct GridPosition {
  int data = 0, stage = 0, shard = 0;
};
GridPosition PositionOf(const PlanSpec& spec, int rank);

}  // namespace tessera
