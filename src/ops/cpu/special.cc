// Special-purpose kernels (see op_list.h for the ops this family owns).
#include "ops/op_list.h"

namespace tessera {

void RegisterSpecialKernels(KernelRegistry& registry) { (void)registry; }

}  // namespace tessera
