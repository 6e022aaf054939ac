// The generator family's files; generator.cc calls them all.
#pragma once

#include "ops/cpu/common/generated_values.h"
#include "ops/registry.h"

namespace tessera {

void RegisterConstantKernels(KernelRegistry& registry);  // Constant, ConstantOfShape, EyeLike, Range
void RegisterRandomKernels(KernelRegistry& registry);    // Random*, Bernoulli, Multinomial

}  // namespace tessera
