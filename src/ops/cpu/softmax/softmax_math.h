// Vectorisable float32 softmax rows, on FastExp (common/fast_exp.h). The row kernels are compiled for
// AVX-512, AVX2 and baseline x86-64 and picked at load time (GCC target_clones), since the build does
// not assume a -march.
#pragma once

#include <cstdint>

#include "ops/cpu/common/fast_exp.h"

namespace tessera {

// The smallest normal float: softmax outputs below it are flushed to 0 (see FastExp).
constexpr float kSmallestNormal = 1.17549435e-38f;

// Softmax (or log-softmax when `log`) of each of `rows` contiguous rows of length `n` (n >= 1).
void SoftmaxRowsF32(const float* x, float* y, int64_t rows, int64_t n, bool log);

}  // namespace tessera
