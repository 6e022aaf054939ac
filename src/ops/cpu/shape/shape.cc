// Shape kernels (see op_list.h for the ops this family owns): data movement that changes how a tensor
// is laid out, never its values. The work is split by op over shape_*.cc; most copies go through
// strided_copy.h.
#include "ops/cpu/shape/shape_kernels.h"
#include "ops/op_list.h"

namespace tessera {

void RegisterShapeKernels(KernelRegistry& registry) {
  RegisterReshapeKernels(registry);
  RegisterTransposeKernels(registry);
  RegisterConcatSplitKernels(registry);
  RegisterConcatChannelsLastKernels(registry);
  RegisterSliceKernels(registry);
  RegisterExpandTileKernels(registry);
  RegisterPadKernels(registry);
  RegisterShapeInfoKernels(registry);
  RegisterTriluKernels(registry);
}

}  // namespace tessera
