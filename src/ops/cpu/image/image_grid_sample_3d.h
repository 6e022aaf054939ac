// GridSample of volumes (opset 20): X [N, C, D, H, W] sampled at grid [N, D_out, H_out, W_out, 3] ((x, y, z)
// in [-1, 1]), nearest or linear, with the padding modes and align_corners of the 2-D form
// (image_grid_sample.cc); the spec's cubic mode is 2-D only.
#pragma once

#include "ops/kernel.h"

namespace tessera {

enum class GridSample3dMode { kNearest, kLinear };
enum class GridSample3dPadding { kZeros, kBorder, kReflection };

Status GridSample3d(KernelContext& ctx, GridSample3dMode mode, GridSample3dPadding padding, bool align_corners);

}  // namespace tessera
