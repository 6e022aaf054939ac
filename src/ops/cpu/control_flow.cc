// ControlFlow kernels (see op_list.h for the ops this family owns).
#include "ops/op_list.h"

namespace tessera {

void RegisterControlFlowKernels(KernelRegistry& registry) { (void)registry; }

}  // namespace tessera
