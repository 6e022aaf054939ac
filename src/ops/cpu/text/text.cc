// The text family: ops over string tensors and token ids (normalisation, n-gram features).
#include "ops/cpu/text/text_kernels.h"
#include "ops/op_list.h"

namespace tessera {

void RegisterTextKernels(KernelRegistry& registry) {
  RegisterStringNormalizerKernels(registry);
  RegisterTfIdfKernels(registry);
  RegisterStringOpKernels(registry);
}

}  // namespace tessera
