// The sliding-window pooling loops: MaxPool (with optional argmax indices), AveragePool and LpPool over
// 1-D to 3-D windows, and their global forms.
//
// Like the reference convolution, problems use a canonical 3-D form (leading spatial dims of size 1).
// Each output position's window is clipped to the input once, so the inner loops have no bounds checks;
// work is split over the N*C planes.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "ops/cpu/common/window_geometry.h"

namespace tessera {

struct PoolProblem {
  int64_t planes = 1;  // N * C
  int64_t in[3], out[3], kernel[3], stride[3], dilation[3], pad_begin[3], pad_end[3];

  int64_t InCount() const { return in[0] * in[1] * in[2]; }
  int64_t OutCount() const { return out[0] * out[1] * out[2]; }
};

// Requires g.rank <= 3.
PoolProblem MakePoolProblem(const WindowGeometry& g, int64_t planes);

// y = max over each window. When `indices` is not null it receives the flat index (over the whole input,
// N and C included) of each maximum: row-major, or column-major over the spatial dims when
// `column_major` (MaxPool's storage_order = 1). T: float, double, Float16, int8_t, uint8_t.
template <typename T>
void MaxPoolPlanes(const PoolProblem& p, const T* x, T* y, int64_t* indices, bool column_major, ThreadPool& pool);

// y = mean over each window. The divisor counts the window positions inside the input, or inside the
// padded input when `count_include_pad`. T: float, double, Float16.
template <typename T>
void AveragePoolPlanes(const PoolProblem& p, const T* x, T* y, bool count_include_pad, ThreadPool& pool);

// y = (sum over each window of |x|^p)^(1/p). T: float, double, Float16.
template <typename T>
void LpPoolPlanes(const PoolProblem& p, const T* x, T* y, double power, ThreadPool& pool);

}  // namespace tessera
