// MaxRoiPool (max pooling of regions of interest into a fixed grid) and MaxUnpool (the scatter that
// undoes MaxPool using its Indices).
#pragma once

#include "ops/kernel.h"

namespace tessera {

KernelFactory MaxRoiPoolFactory();
KernelFactory MaxUnpoolFactory();

}  // namespace tessera
