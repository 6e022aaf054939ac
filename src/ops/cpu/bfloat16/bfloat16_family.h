// Factories of the bfloat16 family's kernels (com.tessera nodes of graph/passes/bf16_precision.h),
// registered by RegisterBfloat16Kernels (bfloat16_family.cc).
#pragma once

#include "ops/kernel.h"

namespace tessera {

StatusOr<std::unique_ptr<Kernel>> MakeBf16ConvKernel(const KernelInit& init);    // bf16_conv.cc
StatusOr<std::unique_ptr<Kernel>> MakeBf16MatMulKernel(const KernelInit& init);  // bf16_matmul.cc

}  // namespace tessera
