// The ai.onnx.ml family: every file's registration, called from the op list.
#include "ops/cpu/ml/ml_kernels.h"
#include "ops/op_list.h"

namespace tessera {

void RegisterMlKernels(KernelRegistry& registry) {
  RegisterMlMapKernels(registry);
  RegisterMlPreprocessKernels(registry);
  RegisterMlLinearKernels(registry);
  RegisterMlLabelKernels(registry);
  RegisterMlTreeKernels(registry);
  RegisterMlSvmKernels(registry);
  RegisterMlSvmClassifierKernel(registry);
}

}  // namespace tessera
