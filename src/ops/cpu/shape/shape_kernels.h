// The shape family's files, each registering its own ops; shape.cc calls them all.
#pragma once

#include "ops/registry.h"

namespace tessera {

void RegisterReshapeKernels(KernelRegistry& registry);      // Reshape, Flatten, Squeeze, Unsqueeze (aliases)
void RegisterTransposeKernels(KernelRegistry& registry);    // Transpose, DepthToSpace, SpaceToDepth
void RegisterConcatSplitKernels(KernelRegistry& registry);  // Concat, Split
void RegisterConcatChannelsLastKernels(KernelRegistry& registry);  // com.tessera ConcatChannelsLast
void RegisterSliceKernels(KernelRegistry& registry);        // Slice
void RegisterExpandTileKernels(KernelRegistry& registry);   // Expand, Tile
void RegisterPadKernels(KernelRegistry& registry);          // Pad, CenterCropPad
void RegisterShapeInfoKernels(KernelRegistry& registry);    // Shape, Size
void RegisterTriluKernels(KernelRegistry& registry);        // Trilu

}  // namespace tessera
