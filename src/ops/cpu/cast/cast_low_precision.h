// Cast to and from the low-precision types (float8, float4e2m1, int4, uint4): every element goes
// through double, which holds all of them and every source exactly enough that the conversion into
// the narrow type rounds once (core/low_precision.h has the rounding and saturation rules).
#pragma once

#include "core/low_precision.h"
#include "core/thread_pool.h"
#include "tessera/tensor.h"

namespace tessera {

// Converts `in` into `out` (same element count), where either dtype is low-precision and neither is a
// string. `saturate` is Cast's attribute (opset 19+): it matters only for float8 targets; `rounding`
// (opset 24's round_mode) only for float8e8m0 targets.
Status CastLowPrecision(const Tensor& in, Tensor& out, bool saturate, E8M0Rounding rounding, ThreadPool& pool);

}  // namespace tessera
