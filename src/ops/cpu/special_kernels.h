// Registration entry points of the special-ops family, one per file; special.cc calls them all.
// Each file owns one group of rarely used but self-contained ops (sampling, signal, text, training).
#pragma once

#include <memory>

#include "ops/registry.h"

namespace tessera {

void RegisterSpecialGridSampleKernels(KernelRegistry& registry);  // special_grid_sample.cc
void RegisterSpecialRoiAlignKernels(KernelRegistry& registry);    // special_roi_align.cc
void RegisterSpecialFourierKernels(KernelRegistry& registry);     // special_dft.cc: DFT, STFT
void RegisterSpecialWindowKernels(KernelRegistry& registry);      // special_window.cc: windows, MelWeightMatrix
void RegisterSpecialDetKernels(KernelRegistry& registry);         // special_det.cc
void RegisterSpecialTextKernels(KernelRegistry& registry);        // special_text.cc: StringNormalizer
void RegisterSpecialTfIdfKernels(KernelRegistry& registry);       // special_tfidf.cc: TfIdfVectorizer
void RegisterSpecialTrainingKernels(KernelRegistry& registry);    // special_training.cc: Adagrad, Adam, Momentum

// A factory for kernels constructed from their node alone (attributes are read in the constructor).
template <typename K>
KernelFactory MakeNodeKernelFactory() {
  return [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<K>(init.node));
  };
}

}  // namespace tessera
