// Factories of the quantization family's kernels, registered by RegisterQuantizationKernels
// (quantization.cc).
#pragma once

#include "ops/kernel.h"

namespace tessera {

StatusOr<std::unique_ptr<Kernel>> MakeMatMulIntegerKernel(const KernelInit& init);  // quant_matmul.cc
StatusOr<std::unique_ptr<Kernel>> MakeQLinearMatMulKernel(const KernelInit& init);  // quant_matmul.cc
StatusOr<std::unique_ptr<Kernel>> MakeConvIntegerKernel(const KernelInit& init);    // quant_conv.cc
StatusOr<std::unique_ptr<Kernel>> MakeQLinearConvKernel(const KernelInit& init);    // quant_conv.cc
// com.tessera nodes of graph/passes/qdq_fusion.h.
StatusOr<std::unique_ptr<Kernel>> MakeQuantizedConvKernel(const KernelInit& init);    // quantized_conv.cc
StatusOr<std::unique_ptr<Kernel>> MakeQuantizedMatMulKernel(const KernelInit& init);  // quantized_matmul.cc
// quantized_activation_matmul.cc
StatusOr<std::unique_ptr<Kernel>> MakeQuantizedActivationMatMulKernel(const KernelInit& init);
StatusOr<std::unique_ptr<Kernel>> MakeLayerNormQuantizeKernel(const KernelInit& init);  // layer_norm_quantize.cc
// com.microsoft contrib ops of weight-only quantized decoders.
StatusOr<std::unique_ptr<Kernel>> MakeMatMulNBitsKernel(const KernelInit& init);           // matmul_nbits.cc
StatusOr<std::unique_ptr<Kernel>> MakeGatherBlockQuantizedKernel(const KernelInit& init);  // gather_block_quantized.cc

}  // namespace tessera
