// Registration entry points of the signal family, one per file; signal.cc calls them both.
#pragma once

#include "ops/registry.h"

namespace tessera {

void RegisterFourierKernels(KernelRegistry& registry);  // signal_dft.cc: DFT, STFT
void RegisterWindowKernels(KernelRegistry& registry);   // signal_window.cc: Hann/Hamming/Blackman windows, MelWeightMatrix

}  // namespace tessera
