// The two GEMMs of a recurrent layer: C[m, n] = A[m, k] · B[n, k]^T (+ bias[n]), where B is a weight
// matrix as ONNX stores it (one row per gate unit). Used for the input projection of all time steps at
// once and for the per-step recurrence H · R^T.
//
// float32 runs a oneDNN matmul primitive whose weights are reordered once into the layout it prefers
// (blocked for brgemm); later calls with the same weight pointer reuse that copy until it is invalidated,
// so the per-step recurrence never repacks R. The kernel invalidates at the start of each run unless the
// weights are initializers, which are then packed once for the session. Primitives are cached by
// (m, lda, ldc, ldb). float64 runs a plain loop with double accumulation (no oneDNN support).
#pragma once

#include <cstdint>
#include <dnnl.hpp>
#include <map>
#include <memory>
#include <tuple>
#include <unordered_map>

#include "tessera/status.h"

namespace tessera {

class RnnMatMulF32 {
 public:
  RnnMatMulF32(int64_t n, int64_t k) : n_(n), k_(k) {}

  // `b` holds n rows of k floats, row stride ldb. `bias` may be null. Row strides are in elements.
  // When `b` is the pointer of the previous call and no Invalidate() came between, its packed copy is reused.
  Status Run(const float* a, int64_t m, int64_t lda, const float* b, int64_t ldb, const float* bias, float* c,
             int64_t ldc);
  // The per-step recurrence C = A · B^T for m <= kPanelGemvMaxRows rows on the calling thread: on oneDNN's
  // packed panels of 64 columns, read last panel first when `backward`, so that a caller alternating the
  // direction every step finds the panels it read last still in L2. Other shapes or layouts run Run().
  Status RunRecurrence(const float* a, int64_t m, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
                       bool backward);
  // The weights behind the last pointer may have changed: pack again on the next call.
  void Invalidate() { packed_from_ = nullptr; }

 private:
  struct Plan {
    dnnl::matmul primitive;
    dnnl::memory src, weights_user, bias, dst;  // data handles set per call
    dnnl::memory::desc weights_desc;
    std::unordered_map<int, dnnl::memory> args;  // the handles above (and packed_), built once
  };
  // Reorders `b` into packed_ unless it already holds it.
  void EnsurePacked(Plan& plan, const float* b);
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
             const float* bias, float* c, int64_t ldc);
  // The per-step recurrence H · R^T with R [n, k]; see RnnMatMulF32::RunRecurrence.
  Status RunRecurrence(int slot, const float* a, int64_t m, int64_t lda, const float* b, int64_t n, int64_t k,
                       int64_t ldb, float* c, int64_t ldc, bool backward);
  Status RunRecurrence(int slot, const double* a, int64_t m, int64_t lda, const double* b, int64_t n, int64_t k,
                       int64_t ldb, double* c, int64_t ldc, bool) {
    return Run(slot, a, m, lda, b, n, k, ldb, nullptr, c, ldc);
  }
  Status Run(int slot, const double* a, int64_t m, int64_t lda, const double* b, int64_t n, int64_t k, int64_t ldb,
             const double* bias, double* c, int64_t ldc);
  // Creates slot `slot` for B [n, k] now, so that threads of one team may then Run their own slots at the
  // same time (Run on an existing slot of the same n and k does not touch the slot table).
  void Reserve(int slot, int64_t n, int64_t k);
  // Every slot packs its weights again on its next call (weights that are not initializers, per run).
  void InvalidatePackedWeights() {
    for (auto& [id, slot] : slots_) {
      if (slot.matmul) slot.matmul->Invalidate();
    }
  }

 private:
  struct Slot {
    int64_t n = -1, k = -1;
    std::unique_ptr<RnnMatMulF32> matmul;
  };
  std::map<int, Slot> slots_;
};

}  // namespace tessera
