// Special-purpose kernels (see op_list.h for the ops this family owns): the family's one entry point,
// which registers each group from its own file (special_kernels.h lists them).
#include "ops/cpu/special_kernels.h"
#include "ops/op_list.h"

namespace tessera {

void RegisterSpecialKernels(KernelRegistry& registry) {
  RegisterSpecialGridSampleKernels(registry);
  RegisterSpecialRoiAlignKernels(registry);
  RegisterSpecialFourierKernels(registry);
  RegisterSpecialWindowKernels(registry);
  RegisterSpecialDetKernels(registry);
  RegisterSpecialTextKernels(registry);
  RegisterSpecialTfIdfKernels(registry);
  RegisterSpecialTrainingKernels(registry);
}

}  // namespace tessera
