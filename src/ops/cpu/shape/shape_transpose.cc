// Transpose, DepthToSpace and SpaceToDepth: permutations of a (possibly reshaped) view of the input.
//
// Each is one strided gather (strided_copy.h), whose tiling covers the 2-D transpose and whose run
// copies cover permutations that keep the innermost dim. A permutation that keeps every dim of size > 1
// in order moves no data, so the output aliases the input.
#include <numeric>
#include <string>
#include <vector>

#include "ops/cpu/shape/shape_kernels.h"
#include "ops/cpu/common/strided_copy.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

// Writes `view` (a row-major shape over x's data) permuted by `perm` into output 0 of `out_shape`.
Status PermuteView(KernelContext& ctx, const Tensor& x, const Shape& view, const std::vector<int64_t>& perm,
                   Shape out_shape) {
  const std::vector<int64_t> strides = ContiguousStrides(view);
  Shape dims(perm.size());
  std::vector<int64_t> src_strides(perm.size());
  bool moves_data = false;
  int64_t last_kept = -1;
  for (size_t i = 0; i < perm.size(); ++i) {
    const size_t p = static_cast<size_t>(perm[i]);
    dims[i] = view[p];
    src_strides[i] = strides[p];
    if (view[p] != 1) {
      moves_data |= perm[i] < last_kept;
      last_kept = perm[i];
    }
  }
  if (!moves_data) {
    ctx.SetOutput(0, x.Reshaped(std::move(out_shape)));
    return Status::Ok();
  }
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, x.dtype(), std::move(out_shape)));
  return GatherStrided(x.dtype(), x.raw_data(), src_strides, y->raw_data(), dims, ctx.pool());
}

Status RunTranspose(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const size_t rank = static_cast<size_t>(x.rank());
  std::vector<int64_t> perm = ctx.node().GetInts("perm");
  if (!ctx.node().HasAttribute("perm")) {
    perm.resize(rank);
    std::iota(perm.rbegin(), perm.rend(), 0);  // default: reverse the dims
  }
  if (perm.size() != rank) {
    return KernelContext::Error("attribute 'perm' has " + std::to_string(perm.size()) + " entries for input of shape " +
                                ShapeToString(x.shape()));
  }
  std::vector<bool> seen(rank, false);
  Shape out_shape(rank);
  for (size_t i = 0; i < rank; ++i) {
    if (perm[i] < 0 || perm[i] >= x.rank() || seen[static_cast<size_t>(perm[i])]) {
      return KernelContext::Error("attribute 'perm' is not a permutation of 0.." + std::to_string(rank - 1) +
                                  " (entry " + std::to_string(perm[i]) + ")");
    }
    seen[static_cast<size_t>(perm[i])] = true;
    out_shape[i] = x.dim(perm[i]);
  }
  return PermuteView(ctx, x, x.shape(), perm, std::move(out_shape));
}

StatusOr<int64_t> ReadBlockSize(KernelContext& ctx, const Tensor& x) {
  const int64_t bs = ctx.node().GetInt("blocksize", 0);
  if (bs <= 0) return KernelContext::Error("attribute 'blocksize' must be positive, got " + std::to_string(bs));
  if (x.rank() != 4) return KernelContext::Error("input must be 4-D [N,C,H,W], got " + ShapeToString(x.shape()));
  return bs;
}

Status RunDepthToSpace(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  TS_ASSIGN_OR_RETURN(int64_t bs, ReadBlockSize(ctx, x));
  const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  if (c % (bs * bs) != 0) {
    return KernelContext::Error("channels of input " + ShapeToString(x.shape()) +
                                " are not divisible by blocksize^2 = " + std::to_string(bs * bs));
  }
  const int64_t oc = c / (bs * bs);
  const bool crd = ctx.node().GetString("mode", "DCR") == "CRD";
  // DCR splits channels as [bs, bs, C'], CRD as [C', bs, bs]; both interleave the blocks into H and W.
  const Shape view = crd ? Shape{n, oc, bs, bs, h, w} : Shape{n, bs, bs, oc, h, w};
  const std::vector<int64_t> perm =
      crd ? std::vector<int64_t>{0, 1, 4, 2, 5, 3} : std::vector<int64_t>{0, 3, 4, 1, 5, 2};
  return PermuteView(ctx, x, view, perm, {n, oc, h * bs, w * bs});
}

Status RunSpaceToDepth(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  TS_ASSIGN_OR_RETURN(int64_t bs, ReadBlockSize(ctx, x));
  const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  if (h % bs != 0 || w % bs != 0) {
    return KernelContext::Error("height and width of input " + ShapeToString(x.shape()) +
                                " are not divisible by blocksize " + std::to_string(bs));
  }
  return PermuteView(ctx, x, {n, c, h / bs, bs, w / bs, bs}, {0, 3, 5, 1, 2, 4}, {n, c * bs * bs, h / bs, w / bs});
}

}  // namespace

void RegisterTransposeKernels(KernelRegistry& registry) {
  registry.Register("Transpose", 1, kLatestOpset, MakeFunctionKernel(RunTranspose));
  registry.Register("DepthToSpace", 1, kLatestOpset, MakeFunctionKernel(RunDepthToSpace));
  registry.Register("SpaceToDepth", 1, kLatestOpset, MakeFunctionKernel(RunSpaceToDepth));
}

}  // namespace tessera
