// QDQ fusion: the QuantizeLinear/DequantizeLinear form `tessera quantize --mode static` (and ONNX Runtime's
// quantizer) writes becomes int8 convolutions and matmuls.
//
// FuseQdq rewrites
//   DequantizeLinear(x_q, x_scale[, x_zp])  ->  Conv / MatMul / Gemm  <-  DequantizeLinear(w_q, w_scale[, w_zp])
//   [-> Add(bias) | Add(Z)]  [-> Relu | Clip | GELU (erf form, gelu_match.h)]  [-> QuantizeLinear(y_scale[, y_zp])]
// into one com.tessera QuantizedConv or QuantizedMatMul node (kernels: src/ops/cpu/quantization/
// quantized_conv.cc, quantized_matmul.cc; inputs in qdq_fused_params.h). Conditions: x's scale and zero
// point are constant scalars (per tensor); w_q is a constant int8 tensor with constant scales, per tensor or
// per output channel (Conv axis 0, MatMul axis 1, Gemm axis 0 with transB else 1), and zero points that are
// all 0 (oneDNN's int8 convolution takes no weight zero points); a Conv bias or Gemm C is a constant
// float32 vector of the output channels; a Gemm has transA = 0, alpha = 1 and beta = 1; a MatMul's
// weight is 2-D. The bias Add (MatMul/Gemm without C only: a constant float32 [N] vector), a Conv's
// residual Add(Z) (Z a float32 value of the output's declared shape, passed as the QuantizedConv's 9th
// input, the output then float32; nodes are re-sorted since Z may come from a later branch), the activation
// and the QuantizeLinear are taken only while the value before them has that node as its one reader and
// is not a graph output; Clip needs constant bounds. A QuantizeLinear taken makes the output int8 (the
// node takes the QuantizeLinear's output value), otherwise it is float32.
//
// Before matching, QuantizeLinear nodes move above the data movement before them (qdq_hoist.h), so a
// product followed by Reshape/Transpose and then QuantizeLinear can take the QuantizeLinear in. A MatMul
// whose inputs are both per-tensor DequantizeLinear outputs that the above does not take (two activations:
// an attention's Q·Kᵀ and P·V) becomes a com.tessera QuantizedActivationMatMul (kernel:
// quantized_activation_matmul.cc) taking in a Div/Mul by a float scalar constant after it (its alpha) and
// then a QuantizeLinear, each only while the value before it has that one reader.
//
// A QuantizeLinear still left after a LayerNormalization then joins it as a two-output LayerNormQuantize
// (qdq_layer_norm.h), whose float output the residual Add keeps reading.
//
// Fused nodes feeding fused nodes thus pass int8 tensors along (the int8 chain); the values between
// QuantizedConvs then stay NHWC where they can (qdq_channels_last.h). DequantizeLinear nodes left without
// readers are removed; the ones other nodes still read stay. The fused node keeps the Conv/MatMul/Gemm's name.
#pragma once

#include "graph/graph.h"
#include "tessera/status.h"

namespace tessera {

// Returns the number of fused nodes made through `fused_count` when it is not null.
Status FuseQdq(Graph& graph, int* fused_count = nullptr);

}  // namespace tessera
