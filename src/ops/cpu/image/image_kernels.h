// Registration entry points of the image family, one per file; image.cc calls them all.
#pragma once

#include "ops/registry.h"

namespace tessera {

void RegisterGridSampleKernels(KernelRegistry& registry);  // image_grid_sample.cc: GridSample
void RegisterRoiAlignKernels(KernelRegistry& registry);    // image_roi_align.cc: RoiAlign
void RegisterAffineGridKernels(KernelRegistry& registry);  // image_affine_grid.cc: AffineGrid
void RegisterCol2ImKernels(KernelRegistry& registry);      // image_col2im.cc: Col2Im
void RegisterDeformConvKernels(KernelRegistry& registry);  // image_deform_conv.cc: DeformConv (1-3 spatial dims)
void RegisterImageDecoderKernel(KernelRegistry& registry);  // image_decoder.cc: ImageDecoder (JPEG, PNG)

}  // namespace tessera
