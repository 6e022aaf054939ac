// The two GEMMs of a recurrent layer: C[m, n] = A[m, k] · B[n, k]^T (+ bias[n]), where B is a weight
// matrix as ONNX stores it (one row per gate unit). Used for the input projection of all time steps at
// once and for the per-step recurrence H · R^T.
//
// float32 runs a oneDNN matmul primitive whose weights are reordered once into the layout it prefers
// (blocked for brgemm): when the weights are constant (`weights_stable`) later calls reuse that copy, so
// the per-step recurrence never repacks R. Primitives are cached by (m, lda, ldc). float64 runs a plain
// loop with double accumulation (no oneDNN support).
#pragma once

#include <dnnl.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

#include "tessera/status.h"

namespace tessera {

class RnnMatMulF32 {
 public:
  RnnMatMulF32(int64_t n, int64_t k) : n_(n), k_(k) {}

  // `b` holds n rows of k floats, row stride ldb. `bias` may be null. Row strides are in elements.
  // When `weights_stable` is set and `b` is the pointer of the previous call, its packed copy is reused.
  Status Run(const float* a, int64_t m, int64_t lda, const float* b, int64_t ldb, bool weights_stable,
             const float* bias, float* c, int64_t ldc);

 private:
  struct Plan {
    dnnl::matmul primitive;
    dnnl::memory src, weights_user, bias, dst;  // data handles set per call
    dnnl::memory::desc weights_desc;
  };
  StatusOr<Plan*> FindPlan(int64_t m, int64_t lda, int64_t ldc, int64_t ldb, bool with_bias);

  int64_t n_, k_;
  std::map<std::tuple<int64_t, int64_t, int64_t, int64_t, bool>, Plan> plans_;
  dnnl::memory packed_;  // B reordered into packed_desc_
  dnnl::memory::desc packed_desc_;
  const float* packed_from_ = nullptr;
};

// The float64 counterpart (no packing).
void RnnMatMulF64(const double* a, int64_t m, int64_t lda, const double* b, int64_t n, int64_t k, int64_t ldb,
                  const double* bias, double* c, int64_t ldc);

// The GEMMs of one recurrent kernel, each weight matrix in its own numbered slot (the input projection,
// each direction's recurrence) so that every slot keeps its packed weights across steps and runs.
class RnnGemms {
 public:
  // C = A · B^T (+ bias) with B [n, k]; see RnnMatMulF32::Run.
  Status Run(int slot, const float* a, int64_t m, int64_t lda, const float* b, int64_t n, int64_t k, int64_t ldb,
             bool weights_stable, const float* bias, float* c, int64_t ldc);
  Status Run(int slot, const double* a, int64_t m, int64_t lda, const double* b, int64_t n, int64_t k, int64_t ldb,
             bool weights_stable, const double* bias, double* c, int64_t ldc);

 private:
  struct Slot {
    int64_t n = -1, k = -1;
    std::unique_ptr<RnnMatMulF32> matmul;
  };
  std::map<int, Slot> slots_;
};

}  // namespace tessera
