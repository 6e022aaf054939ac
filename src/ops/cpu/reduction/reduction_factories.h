// Factories of the reduction family's kernels that live outside reduction.cc.
#pragma once

#include "ops/kernel.h"

namespace tessera {

// ArgMax (is_max) or ArgMin, every opset: axis, keepdims and (opset 12+) select_last_index.
KernelFactory MakeArgReduceFactory(bool is_max);
// CumSum-11 and -14 (or, with `product`, CumProd-26): axis input, exclusive and reverse attributes.
KernelFactory MakeCumulativeFactory(bool product);

}  // namespace tessera
