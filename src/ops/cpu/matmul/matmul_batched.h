// Batched matrix products over a MatMulPlan: the float32 path through oneDNN and the plain path for
// every other dtype. Shared by MatMul and Einsum.
#pragma once

#include <vector>

#include "core/thread_pool.h"
#include "ops/cpu/matmul/matmul_dnnl.h"
#include "ops/cpu/matmul/matmul_reference.h"
#include "ops/cpu/matmul/matmul_shape.h"
#include "ops/cpu/common/numeric_traits.h"

namespace tessera {

// C (contiguous, plan.out_shape) = A x B for contiguous A and B of the shapes the plan was made from.
// Float16/bfloat16 accumulate in float32; the integers wrap like numpy.
template <typename T>
void ReferenceBatchedMatMul(const T* a, const T* b, T* c, const MatMulPlan& plan, ThreadPool& pool) {
  using Traits = NumericTraits<T>;
  using Acc = typename Traits::Compute;
  const int64_t m = plan.m, k = plan.k, n = plan.n, rows = plan.batch_count() * m;
  const int64_t min_rows = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, k * n));
  pool.ParallelFor(rows, min_rows, [&](int64_t begin, int64_t end) {
    std::vector<Acc> acc(static_cast<size_t>(std::min(n, kGemmColumnBlock)));
    while (begin < end) {
      const int64_t bi = begin / m, row = begin % m;
      const int64_t row_end = std::min(m, row + (end - begin));
      const T* am = a + plan.a_offsets[static_cast<size_t>(bi)] * m * k;
      const T* bm = b + plan.b_offsets[static_cast<size_t>(bi)] * k * n;
      ReferenceGemmRows<Acc>(
          am, bm, c + bi * m * n, row, row_end, k, n, acc.data(), [](T v) { return Traits::Load(v); },
          [](T v) { return Traits::Load(v); }, [](Acc v) { return Traits::Store(v); });
      begin += row_end - row;
    }
  });
}

// Float32 through oneDNN. A B without batch dims folds A's batch into M (one big GEMM, and B can be
// the pre-packed constant); otherwise oneDNN broadcasts the batch dims itself.
inline Status DnnlBatchedMatMul(DnnlMatMul& dnnl, const float* a, const float* b, float* c, const MatMulPlan& plan,
                                bool b_has_batch, int threads) {
  const int64_t m = plan.m, k = plan.k, n = plan.n;
  if (!b_has_batch) {
    const int64_t rows = plan.batch_count() * m;
    return dnnl.Run(a, ContiguousMatrix({rows, k}), b, ContiguousMatrix({k, n}), c, ContiguousMatrix({rows, n}),
                    threads);
  }
  auto with_matrix = [](Shape dims, int64_t r, int64_t cols) {
    dims.push_back(r);
    dims.push_back(cols);
    return ContiguousMatrix(std::move(dims));
  };
  return dnnl.Run(a, with_matrix(plan.a_batch, m, k), b, with_matrix(plan.b_batch, k, n), c,
                  with_matrix(plan.batch, m, n), threads);
}

}  // namespace tessera
