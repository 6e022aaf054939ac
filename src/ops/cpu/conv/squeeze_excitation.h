// com.tessera SqueezeExcitationChannelsLast: a squeeze-excitation block of a channels-last image as one kernel
// (contract in squeeze_excitation.cc and graph/layout.h). Registered with the convolutions.
#pragma once

#include "ops/registry.h"

namespace tessera {

void RegisterSqueezeExcitationKernels(KernelRegistry& registry);

}  // namespace tessera
