// MakeNodeKernelFactory: the factory of a kernel that is built from its node alone (attributes are read in
// the constructor and checked at run time), for the families whose kernels need no constant inputs.
#pragma once

#include <memory>

#include "ops/registry.h"

namespace tessera {

template <typename K>
KernelFactory MakeNodeKernelFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<K>(init.node));
  };
}

}  // namespace tessera
