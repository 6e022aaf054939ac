// Factories of the MatMul family's kernels, registered by RegisterMatMulKernels (matmul.cc).
#pragma once

#include "ops/kernel.h"

namespace tessera {

StatusOr<std::unique_ptr<Kernel>> MakeGemmKernel(const KernelInit& init);    // matmul_gemm.cc
StatusOr<std::unique_ptr<Kernel>> MakeEinsumKernel(const KernelInit& init);  // einsum.cc
// com.tessera FusedMatMul (matmul_fused.cc), made by graph/passes/transformer_fusion.
StatusOr<std::unique_ptr<Kernel>> MakeFusedMatMulKernel(const KernelInit& init);

}  // namespace tessera
