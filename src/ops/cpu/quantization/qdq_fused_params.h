// What the com.tessera QuantizedConv and QuantizedMatMul nodes (made by graph/passes/qdq_fusion.h from
// DequantizeLinear -> Conv/MatMul/Gemm [-> bias Add] [-> Relu/Clip] [-> QuantizeLinear]) read from their
// constant inputs, and the oneDNN attributes that apply them to an int8 product.
//
// Inputs of both nodes: x, x_scale, x_zero_point, w, w_scale, B, y_scale, y_zero_point, and for
// QuantizedConv Z (x_zero_point, B, y_scale, y_zero_point and Z optional; everything but x and Z
// constant). With y_scale the output is quantized (y_zero_point's type, uint8 when absent), otherwise
// float32. The float result they stand for is
//
//   y = act(x_scale * w_scale[m] * sum((x - x_zero_point) * w) + B[m] [+ Z])      Z: float32, y's shape
//
// (an addend Z only with a float32 output: oneDNN's sum post-op adds what the destination holds, so Z is
// copied there first).
//
// oneDNN 2.6 computes dst = post_ops(output_scale[m] * (acc + bias[m])) + dst_zero_point, so the bias is
// handed over divided by x_scale * w_scale[m], the output scale is x_scale * w_scale[m] / y_scale, and a
// Clip's bounds are divided by y_scale (Relu commutes with the positive scale). GELU does not commute with
// it: there the output scale stays x_scale * w_scale[m] and a linear post-op after the GELU divides by
// y_scale.
#pragma once

#include <dnnl.hpp>
#include <unordered_map>
#include <vector>

#include "ops/kernel.h"

namespace tessera {

struct QdqFusedParams {
  enum class Activation { kNone, kRelu, kClip, kGeluErf };

  DType x_type = DType::kUInt8;
  float x_scale = 1;
  int32_t x_zero_point = 0;
  Tensor weights;               // int8, the node's constant w
  int64_t channels = 0;         // output channels (Conv M, MatMul/Gemm N)
  std::vector<float> w_scales;  // 1 or `channels`
  std::vector<float> bias;      // empty or `channels`, float as in the model
  bool quantized_output = false;
  DType y_type = DType::kFloat32;
  float y_scale = 1;
  int32_t y_zero_point = 0;
  Activation activation = Activation::kNone;
  float clip_min = 0, clip_max = 0;
  bool has_addend = false;  // Z given (QuantizedConv only)

  // output_scale[m] (one value when every channel shares it).
  std::vector<float> OutputScales() const;
  // bias[m] / (x_scale * w_scale[m]): the bias in accumulator units; empty without a bias.
  std::vector<float> AccumulatorBias() const;
  // Output scales (per channel along `channel_mask` when they differ), runtime zero points where the
  // model's are not 0, then the post-ops: the sum with Z (has_addend), the activation, the division by
  // y_scale where it could not go into the output scale.
  dnnl::primitive_attr MakeAttr(int channel_mask) const;
  // Whether the output scale leaves y_scale out (GELU follows the product in float units).
  bool ScalesInFloatUnits() const { return quantized_output && activation == Activation::kGeluErf; }
};

// Reads and checks the node's constant inputs; `channel_axis` is the axis of w that holds the output
// channels. Errors name the input at fault.
StatusOr<QdqFusedParams> ReadQdqFusedParams(const KernelInit& init, int64_t channel_axis);

// Binds the runtime zero points MakeAttr asked for into `args`; the memories point into `p`, which must
// outlive the execute.
void AddZeroPointArgs(const QdqFusedParams& p, std::unordered_map<int, dnnl::memory>& args);

}  // namespace tessera
