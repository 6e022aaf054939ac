// The image family: ops that read an image at computed, fractional positions (GridSample, RoiAlign, DeformConv), make
// the positions (AffineGrid), or fold sliding-window columns back into an image (Col2Im).
#include "ops/cpu/image/image_kernels.h"
#include "ops/op_list.h"

namespace tessera {

void RegisterImageKernels(KernelRegistry& registry) {
  RegisterGridSampleKernels(registry);
  RegisterRoiAlignKernels(registry);
  RegisterAffineGridKernels(registry);
  RegisterCol2ImKernels(registry);
  RegisterDeformConvKernels(registry);
  RegisterImageDecoderKernel(registry);
}

}  // namespace tessera
