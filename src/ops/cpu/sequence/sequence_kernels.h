// The sequence family's files register their own ops; RegisterSequenceKernels (sequence.cc) calls them.
#pragma once

#include "ops/registry.h"

namespace tessera {

void RegisterSplitConcatSequenceKernels(KernelRegistry& registry);  // SplitToSequence, ConcatFromSequence

}  // namespace tessera
