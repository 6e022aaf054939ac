// Shape rules shared by MatMul, MatMulInteger and QLinearMatMul (numpy.matmul semantics).
//
// A 1-D A is [1, K] with M dropped from the output; a 1-D B is [K, 1] with N dropped. The batch dims
// (all but the last two) broadcast numpy-style.
#pragma once

#include <cstdint>
#include <vector>

#include "tessera/tensor.h"

namespace tessera {

struct MatMulPlan {
  int64_t m = 0, k = 0, n = 0;
  Shape batch;                     // broadcast batch dims
  Shape a_batch, b_batch;          // the operands' own batch dims, left-padded with 1s to batch's rank
  std::vector<int64_t> a_offsets;  // per output batch entry: index of A's matrix (times m*k gives elements);
                                   // left empty when the output is empty
  std::vector<int64_t> b_offsets;  // same for B
  Shape out_shape;
  int64_t batch_count() const { return static_cast<int64_t>(a_offsets.size()); }
};

// Fails naming both shapes when the inner dims differ or the batch dims do not broadcast, and with
// ResourceExhausted when the output could not be allocated anyway.
StatusOr<MatMulPlan> PlanMatMul(const Shape& a, const Shape& b);

}  // namespace tessera
