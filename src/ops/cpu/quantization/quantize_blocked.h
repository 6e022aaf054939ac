// QuantizeLinear and DequantizeLinear for what the 8/16-bit integer kernels in quantization.cc do not
// cover: the low-precision quantized types (float8 from opset 19, int4/uint4 from 21, float4e2m1 from
// 23) and block quantization (opset 21's `block_size`), for every quantized type.
//
// Parameters are per tensor (one element), per axis (1-D along `axis`) or per block: then scale (and
// zero point) have x's rank, x's dims except ceil(dim / block_size) along `axis`, and element i of x uses
// the parameter at its coordinates with the axis coordinate divided by block_size.
//
// QuantizeLinear: q = x / scale in float32 (rounded to float16/bfloat16 when `precision`, opset 23, or
//   a 16-bit scale says so); integers: saturate(rint(q) + zero_point); float8/float4: the cast of q
//   (zero point must be zero) with `saturate` (default 1). The output type is the zero point's, else
//   `output_dtype` (opset 21), else uint8.
// DequantizeLinear: y = (x - zero_point) * scale, typed as the scale (or `output_dtype`, opset 23+).
#pragma once

#include <memory>

#include "ops/kernel.h"

namespace tessera {

// Whether these kernels handle a node: a low-precision quantized type or a nonzero block_size.
bool NeedsBlockedQuantize(DType quantized, int64_t block_size);

Status RunBlockedQuantizeLinear(KernelContext& ctx, DType out_dtype, int64_t axis, int64_t block_size, bool saturate,
                                DType precision);
Status RunBlockedDequantizeLinear(KernelContext& ctx, int64_t axis, int64_t block_size, DType output_dtype);

}  // namespace tessera
