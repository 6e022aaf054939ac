// Det (opset 11+): determinants of a batch of square matrices [*, M, M] -> [*], by LU decomposition
// with partial pivoting in double (the product of the pivots, negated once per row swap).
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "ops/cpu/common/numeric_traits.h"
#include "ops/cpu/common/node_kernel_factory.h"
#include "ops/op_list.h"

namespace tessera {
namespace {

// Determinant of the row-major m x m matrix in `a`, which is overwritten by its LU factors.
double LuDeterminant(double* a, int64_t m) {
  double det = 1.0;
  for (int64_t col = 0; col < m; ++col) {
    int64_t pivot = col;
    for (int64_t r = col + 1; r < m; ++r) {
      if (std::fabs(a[r * m + col]) > std::fabs(a[pivot * m + col])) pivot = r;
    }
    const double p = a[pivot * m + col];
    if (p == 0.0) return 0.0;  // singular: the whole column below the diagonal is zero
    if (pivot != col) {
      for (int64_t c = 0; c < m; ++c) std::swap(a[col * m + c], a[pivot * m + c]);
      det = -det;
    }
    det *= p;
    for (int64_t r = col + 1; r < m; ++r) {
      const double factor = a[r * m + col] / p;
      if (factor == 0.0) continue;
      for (int64_t c = col + 1; c < m; ++c) a[r * m + c] -= factor * a[col * m + c];
    }
  }
  return det;
}

Status RunDet(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = x.rank();
  if (rank < 2 || x.dim(rank - 1) != x.dim(rank - 2)) {
    return KernelContext::Error("input must be [*, M, M] (square matrices), got shape " + ShapeToString(x.shape()));
  }
  const int64_t m = x.dim(rank - 1);
  const Shape out_shape(x.shape().begin(), x.shape().end() - 2);
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, x.dtype(), out_shape));
  const int64_t batch = y->element_count();
  if (batch == 0) return Status::Ok();
  return DispatchFloatWithHalf(
      x.dtype(),
      [&](auto tag) {
        using T = decltype(tag);
        using Traits = NumericTraits<T>;
        using C = typename Traits::Compute;
        const T* in = x.data<T>();
        T* out = y->data<T>();
        const int64_t min_chunk = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, m * m * m));
        ctx.pool().ParallelFor(batch, min_chunk, [&](int64_t begin, int64_t end) {
          std::vector<double> a(static_cast<size_t>(m * m));
          for (int64_t b = begin; b < end; ++b) {
            const T* src = in + b * m * m;
            for (int64_t i = 0; i < m * m; ++i) a[static_cast<size_t>(i)] = static_cast<double>(Traits::Load(src[i]));
            out[b] = Traits::Store(static_cast<C>(LuDeterminant(a.data(), m)));  // m == 0 gives 1
          }
        });
        return Status::Ok();
      },
      "Det");
}

}  // namespace

void RegisterLinalgKernels(KernelRegistry& registry) {
  registry.Register("Det", 11, kLatestOpset, MakeFunctionKernel(RunDet));
}

}  // namespace tessera
