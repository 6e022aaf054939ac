// The signal family: Fourier transforms and the windows and filter banks that go with them.
#include "ops/cpu/signal/signal_kernels.h"
#include "ops/op_list.h"

namespace tessera {

void RegisterSignalKernels(KernelRegistry& registry) {
  RegisterFourierKernels(registry);
  RegisterWindowKernels(registry);
}

}  // namespace tessera
