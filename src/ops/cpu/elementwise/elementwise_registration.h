// Registration functions of the elementwise files that op_list.h does not name: the unary and binary
// family entry points (RegisterElementwiseUnaryKernels, RegisterElementwiseBinaryKernels) call these.
#pragma once

#include "ops/registry.h"

namespace tessera {

void RegisterElementwiseActivationKernels(KernelRegistry& registry);  // Relu, Sigmoid, Gelu, PRelu, ...
void RegisterElementwiseClipKernels(KernelRegistry& registry);        // Clip (attribute and input forms)
void RegisterElementwisePowKernels(KernelRegistry& registry);         // Pow, PRelu
void RegisterElementwiseCompareKernels(KernelRegistry& registry);     // Equal, Less, ..., And, Or, Xor
void RegisterElementwiseVariadicKernels(KernelRegistry& registry);    // Max, Min, Sum, Mean, Where
void RegisterElementwiseContribGeluKernels(KernelRegistry& registry);  // com.microsoft Gelu, BiasGelu, FastGelu
void RegisterElementwiseChannelScaleKernels(KernelRegistry& registry);  // com.tessera ChannelScaleChannelsLast

}  // namespace tessera
