// Indexing kernels (see op_list.h for the ops this family owns). Each indexing_*.cc file registers its
// own ops; this file only collects them. ArgMax, ArgMin and CumSum live with the reductions.
#include "ops/cpu/indexing/indexing_common.h"
#include "ops/op_list.h"

namespace tessera {

void RegisterIndexingKernels(KernelRegistry& registry) {
  RegisterGatherKernels(registry);
  RegisterScatterKernels(registry);
  RegisterTopKKernels(registry);
  RegisterSelectionKernels(registry);
  RegisterUniqueKernels(registry);
  RegisterReverseSequenceKernels(registry);
  RegisterNmsKernels(registry);
  RegisterTensorScatterKernels(registry);
}

}  // namespace tessera
