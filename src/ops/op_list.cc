// The explicit op list: every family of kernels, registered in one place.
#include "ops/op_list.h"

namespace tessera {

void RegisterAllKernels(KernelRegistry& registry) {
  RegisterElementwiseUnaryKernels(registry);
  RegisterElementwiseBinaryKernels(registry);
  RegisterCastKernels(registry);
  RegisterShapeKernels(registry);
  RegisterIndexingKernels(registry);
  RegisterGeneratorKernels(registry);
  RegisterReductionKernels(registry);
  RegisterSoftmaxKernels(registry);
  RegisterNormalizationKernels(registry);
  RegisterMatMulKernels(registry);
  RegisterConvKernels(registry);
  RegisterPoolKernels(registry);
  RegisterRecurrentKernels(registry);
  RegisterResizeKernels(registry);
  RegisterControlFlowKernels(registry);
  RegisterSequenceKernels(registry);
  RegisterQuantizationKernels(registry);
  RegisterBfloat16Kernels(registry);
  RegisterImageKernels(registry);
  RegisterSignalKernels(registry);
  RegisterTextKernels(registry);
  RegisterLinalgKernels(registry);
  RegisterTrainingKernels(registry);
  RegisterMlKernels(registry);
  RegisterAttentionKernels(registry);
  RegisterCollectiveKernels(registry);
}

}  // namespace tessera
