// Registration entry points of the image-sampling family, one per file; image.cc calls them both.
#pragma once

#include "ops/registry.h"

namespace tessera {

void RegisterGridSampleKernels(KernelRegistry& registry);  // image_grid_sample.cc: GridSample
void RegisterRoiAlignKernels(KernelRegistry& registry);    // image_roi_align.cc: RoiAlign

}  // namespace tessera
