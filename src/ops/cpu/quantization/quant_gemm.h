// Exact integer GEMM with zero points on oneDNN's int8 matmul, for MatMulInteger and QLinearMatMul.
//
//   C[r, n] = sum_k (A[r, k] - a_zp[r]) * (B[k, n] - b_zp[n])
//           = A.B - b_zp[n] * rowsum(A)[r] - a_zp[r] * colsum(B)[n] + K * a_zp[r] * b_zp[n]
//
// oneDNN multiplies the raw int8 values (u8 or s8 A, s8 B; a uint8 B is shifted by -128 into int8 and the
// shift folded into its zero point), and the zero points are applied afterwards through the row and
// column sums, so any per-row / per-column zero points work. Only used where DnnlInt8IsExact().
#pragma once

#include <memory>
#include <vector>

#include "ops/cpu/matmul/matmul_dnnl.h"

namespace tessera {

class QuantGemm {
 public:
  // Marks `b` (contiguous [k, n] of b_type, alive and unchanged for this object's life: the kernel holds
  // the constant) as constant: its int8 form, column sums and oneDNN packing are made once, not per Run.
  void SetConstantB(const void* b, DType b_type, int64_t k, int64_t n);

  // A: contiguous [rows, k] of a_type (uint8/int8); B: contiguous [k, n] of b_type (uint8/int8). a_zp holds
  // 1 or `rows` values, b_zp 1 or `n`. C: [rows, n] int32.
  Status Run(const void* a, DType a_type, int64_t rows, int64_t k, const std::vector<int32_t>& a_zp, const void* b,
             DType b_type, int64_t n, const std::vector<int32_t>& b_zp, int32_t* c, int threads);

 private:
  std::unique_ptr<DnnlMatMul> u8_, s8_;  // by A's dtype
  const void* constant_b_ = nullptr;
  std::vector<int8_t> constant_shifted_;  // a uint8 constant B minus 128; empty for an int8 one
  std::vector<int64_t> constant_colsum_;  // of the int8 form
};

}  // namespace tessera
