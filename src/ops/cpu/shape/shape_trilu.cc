// Trilu-14: keeps the upper (j - i >= k) or lower (j - i <= k) triangle of each matrix in the last two
// dims and zeroes the rest. Each row keeps one contiguous run of columns, copied whole.
#include <algorithm>
#include <string>
#include <vector>

#include "ops/cpu/shape/shape_kernels.h"
#include "ops/cpu/common/strided_copy.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

Status RunTrilu(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) return KernelContext::Error("input must have rank >= 2, got shape " + ShapeToString(x.shape()));
  int64_t k = 0;
  if (ctx.has_input(1)) {
    TS_ASSIGN_OR_RETURN(std::vector<int64_t> kv, ReadInt64Values(ctx.input(1), "input 'k'"));
    if (kv.size() != 1) return KernelContext::Error("input 'k' must hold one value, got " + std::to_string(kv.size()));
    k = kv[0];
  }
  const bool upper = ctx.node().GetInt("upper", 1) != 0;
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, x.dtype(), x.shape()));
  const int64_t rows = x.dim(x.rank() - 2), cols = x.dim(x.rank() - 1);
  if (y->element_count() == 0) return Status::Ok();
  const int64_t matrices = x.element_count() / (rows * cols);
  const size_t size = DTypeSize(x.dtype());
  const char* src = static_cast<const char*>(x.raw_data());
  char* dst = static_cast<char*>(y->raw_data());
  // Clamp k first so that i + k cannot overflow for extreme k.
  k = std::clamp<int64_t>(k, -rows - 1, cols + 1);
  ctx.pool().ParallelFor(matrices * rows, std::max<int64_t>(1, 16384 / cols), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t i = r % rows;
      const int64_t from = upper ? std::clamp<int64_t>(i + k, 0, cols) : 0;
      const int64_t to = upper ? cols : std::clamp<int64_t>(i + k + 1, 0, cols);
      const size_t at = static_cast<size_t>(r * cols + from) * size;
      if (to > from) CopyElements(x.dtype(), src + at, dst + at, to - from);
    }
  });
  return Status::Ok();
}

}  // namespace

void RegisterTriluKernels(KernelRegistry& registry) {
  registry.Register("Trilu", 14, kLatestOpset, MakeFunctionKernel(RunTrilu));
}

}  // namespace tessera
