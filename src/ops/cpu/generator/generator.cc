// Generator kernels (see op_list.h for the ops this family owns): tensors made from attributes or from
// another tensor's shape rather than from its values. Deterministic ones are in generator_constant.cc,
// random ones in generator_random.cc.
#include "ops/cpu/generator/generator_kernels.h"
#include "ops/op_list.h"

namespace tessera {

void RegisterGeneratorKernels(KernelRegistry& registry) {
  RegisterConstantKernels(registry);
  RegisterRandomKernels(registry);
}

}  // namespace tessera
