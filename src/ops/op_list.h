// The op list: every kernel family registers its ops here. Adding a family means adding one line to
// RegisterAllKernels (op_list.cc) and one declaration below.
#pragma once

#include "ops/registry.h"

namespace tessera {

void RegisterAllKernels(KernelRegistry& registry);

// One per family folder under src/ops/cpu/ (common/ holds what several families share).
void RegisterElementwiseUnaryKernels(KernelRegistry& registry);   // math and activation functions
void RegisterElementwiseBinaryKernels(KernelRegistry& registry);  // arithmetic, comparison, logic, Where
void RegisterCastKernels(KernelRegistry& registry);               // Cast, CastLike
void RegisterShapeKernels(KernelRegistry& registry);              // Reshape, Transpose, Concat, Slice, Pad, DepthToSpace, ...
void RegisterIndexingKernels(KernelRegistry& registry);           // Gather*, Scatter*, TopK, NonZero, ...
void RegisterGeneratorKernels(KernelRegistry& registry);          // Constant*, Range, EyeLike, Random*
void RegisterReductionKernels(KernelRegistry& registry);          // Reduce*, ArgMax/ArgMin, CumSum
void RegisterSoftmaxKernels(KernelRegistry& registry);            // Softmax, LogSoftmax, Hardmax
void RegisterNormalizationKernels(KernelRegistry& registry);      // BatchNorm, LayerNorm, InstanceNorm, ...
void RegisterMatMulKernels(KernelRegistry& registry);             // MatMul, Gemm, Einsum
void RegisterConvKernels(KernelRegistry& registry);               // Conv, ConvTranspose, FusedConv, SE blocks
void RegisterPoolKernels(KernelRegistry& registry);               // Max/Average/Lp/global pools, MaxRoiPool, MaxUnpool
void RegisterRecurrentKernels(KernelRegistry& registry);          // RNN, GRU, LSTM
void RegisterResizeKernels(KernelRegistry& registry);             // Resize, Upsample
void RegisterControlFlowKernels(KernelRegistry& registry);        // If, Loop, Scan, Identity, optional ops
void RegisterSequenceKernels(KernelRegistry& registry);           // Sequence*, SplitToSequence, ConcatFromSequence
void RegisterBfloat16Kernels(KernelRegistry& registry);           // com.tessera Bf16Conv, Bf16MatMul
void RegisterQuantizationKernels(KernelRegistry& registry);       // Quantize/DequantizeLinear, QLinear*, *Integer
void RegisterImageKernels(KernelRegistry& registry);              // GridSample, RoiAlign
void RegisterSignalKernels(KernelRegistry& registry);             // DFT, STFT, windows, MelWeightMatrix
void RegisterTextKernels(KernelRegistry& registry);               // StringNormalizer, TfIdfVectorizer
void RegisterLinalgKernels(KernelRegistry& registry);             // Det
void RegisterTrainingKernels(KernelRegistry& registry);           // ai.onnx.preview.training Adagrad, Adam, Momentum
void RegisterMlKernels(KernelRegistry& registry);                 // ai.onnx.ml: scikit-learn exporters' ops
void RegisterAttentionKernels(KernelRegistry& registry);          // Attention, RotaryEmbedding, com.microsoft *Attention
void RegisterCollectiveKernels(KernelRegistry& registry);         // com.tessera AllReduceSum, AllGather (parallel/tensor/)

}  // namespace tessera
