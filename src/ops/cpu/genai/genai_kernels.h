// Kernels for the ONNX Runtime contrib ops that ONNX Runtime GenAI's model builder writes for decoders:
// SimplifiedLayerNormalization (RMSNorm; ORT registers it in the default domain), and in com.microsoft
// SkipSimplifiedLayerNormalization, RotaryEmbedding, GroupQueryAttention and MatMulNBits (int4). float32 only; semantics as
// ORT's CPU kernels (onnxruntime/contrib_ops/cpu/...), limits stated per kernel.
#pragma once

#include "ops/kernel.h"

namespace tessera::genai_ops {

KernelFactory MakeSimplifiedLayerNormFactory();
KernelFactory MakeSkipSimplifiedLayerNormFactory();
KernelFactory MakeRotaryEmbeddingFactory();
KernelFactory MakeGroupQueryAttentionFactory();
KernelFactory MakeMatMulNBitsFactory();

}  // namespace tessera::genai_ops
