// The image-sampling family: ops that read an image at computed, fractional positions.
#include "ops/cpu/image/image_kernels.h"
#include "ops/op_list.h"

namespace tessera {

void RegisterImageKernels(KernelRegistry& registry) {
  RegisterGridSampleKernels(registry);
  RegisterRoiAlignKernels(registry);
}

}  // namespace tessera
