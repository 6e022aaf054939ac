// BitCast (opset 26), registered by the cast family.
#pragma once

#include "ops/registry.h"

namespace tessera {

void RegisterBitCastKernel(KernelRegistry& registry);

}  // namespace tessera
