// Pad and CenterCropPad.
//
// Pads are [x1_begin, x2_begin, ..., x1_end, x2_end]; a negative pad crops. Pad-1 named them `paddings`,
// Pad-2 `pads` with a float `value`; from 11 they are inputs (pads, optional constant_value), 18 adds
// an optional `axes` input and 19 the `wrap` mode. The kept part of the input is copied into place in
// one strided copy; constant mode fills around it first, the other modes then fill the border dim by
// dim from the innermost out, each pad row being a copy of a whole row already in the output.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "ops/cpu/common/generated_values.h"
#include "ops/cpu/shape/shape_kernels.h"
#include "ops/cpu/common/strided_copy.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

enum class PadMode { kConstant, kReflect, kEdge, kWrap };

// `value` converted to one element of `dtype`, as bytes.
StatusOr<std::vector<char>> ElementFromDouble(DType dtype, double value) {
  std::vector<char> bytes(DTypeSize(dtype));
  TS_RETURN_IF_ERROR(DispatchGenerated(
      dtype,
      [&](auto tag) {
        using T = decltype(tag);
        const T v = StoreGenerated<T>(value);
        std::memcpy(bytes.data(), &v, sizeof(T));
        return Status::Ok();
      },
      "Pad"));
  return bytes;
}

// Index inside [0, n) that border position i (relative to the kept part, so i < 0 or i >= n) copies.
int64_t SourceIndex(PadMode mode, int64_t i, int64_t n) {
  switch (mode) {
    case PadMode::kEdge:
      return std::clamp<int64_t>(i, 0, n - 1);
    case PadMode::kWrap:
      return ((i % n) + n) % n;
    default: {
      if (n == 1) return 0;
      const int64_t period = 2 * (n - 1);
      i = ((i % period) + period) % period;
      return i < n ? i : period - i;
    }
  }
}

// Pads or crops `x` into output 0. `value` is one element of x's dtype for constant mode.
Status PadInto(KernelContext& ctx, const Tensor& x, const std::vector<int64_t>& pads, PadMode mode, const void* value) {
  const size_t rank = static_cast<size_t>(x.rank());
  Shape out_shape(rank), kept(rank);
  std::vector<int64_t> src_begin(rank), dst_begin(rank);
  for (size_t d = 0; d < rank; ++d) {
    const int64_t b = pads[d], e = pads[d + rank];
    // Pads beyond 2^62 cannot describe a tensor that fits in memory; rejecting them keeps the sums below exact.
    constexpr int64_t kMaxPad = int64_t{1} << 62;
    if (b < -kMaxPad || b > kMaxPad || e < -kMaxPad || e > kMaxPad) {
      return KernelContext::Error("pads " + ShapeToString(pads) + " are out of range for input " +
                                  ShapeToString(x.shape()));
    }
    out_shape[d] = x.shape()[d] + b + e;
    src_begin[d] = std::max<int64_t>(0, -b);
    dst_begin[d] = std::max<int64_t>(0, b);
    kept[d] = x.shape()[d] - src_begin[d] - std::max<int64_t>(0, -e);
    if (out_shape[d] < 0 || kept[d] < 0) {
      return KernelContext::Error("pads " + ShapeToString(pads) + " crop more than input of shape " +
                                  ShapeToString(x.shape()) + " holds");
    }
    if (mode != PadMode::kConstant && kept[d] == 0 && out_shape[d] > 0) {
      return KernelContext::Error("cannot pad an empty axis " + std::to_string(d) + " of input " +
                                  ShapeToString(x.shape()) + " in edge, reflect or wrap mode");
    }
  }
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, x.dtype(), out_shape));
  if (y->element_count() == 0) return Status::Ok();
  if (mode == PadMode::kConstant) FillElements(y->dtype(), y->raw_data(), y->element_count(), value);
  const std::vector<int64_t> in_strides = ContiguousStrides(x.shape()), out_strides = ContiguousStrides(out_shape);
  int64_t src_offset = 0, dst_offset = 0;
  for (size_t d = 0; d < rank; ++d) {
    src_offset += src_begin[d] * in_strides[d];
    dst_offset += dst_begin[d] * out_strides[d];
  }
  const size_t size = DTypeSize(x.dtype());
  char* out = static_cast<char*>(y->raw_data());
  TS_RETURN_IF_ERROR(CopyStrided(x.dtype(), static_cast<const char*>(x.raw_data()) + src_offset * size, in_strides,
                                 out + dst_offset * size, out_strides, kept, ctx.pool()));
  if (mode == PadMode::kConstant) return Status::Ok();
  // Border of dim d, for every index of dims < d inside the kept part; dims > d are already complete.
  for (size_t d = rank; d-- > 0;) {
    if (out_shape[d] == kept[d]) continue;
    const int64_t inner = out_strides[d];
    int64_t outer = 1;
    for (size_t k = 0; k < d; ++k) outer *= kept[k];
    for (int64_t o = 0; o < outer; ++o) {
      int64_t base = 0, rest = o;
      for (size_t k = d; k-- > 0;) {
        base += (dst_begin[k] + rest % kept[k]) * out_strides[k];
        rest /= kept[k];
      }
      for (int64_t j = 0; j < out_shape[d]; ++j) {
        const int64_t i = j - dst_begin[d];
        if (i >= 0 && i < kept[d]) continue;
        const int64_t from = dst_begin[d] + SourceIndex(mode, i, kept[d]);
        CopyElements(x.dtype(), out + (base + from * inner) * size, out + (base + j * inner) * size, inner);
      }
    }
  }
  return Status::Ok();
}

StatusOr<PadMode> ParsePadMode(const std::string& mode, int opset) {
  if (mode == "constant") return PadMode::kConstant;
  if (mode == "reflect") return PadMode::kReflect;
  if (mode == "edge") return PadMode::kEdge;
  if (mode == "wrap" && opset >= 19) return PadMode::kWrap;
  return KernelContext::Error("unsupported pad mode '" + mode + "'");
}

Status RunPad(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = x.rank();
  TS_ASSIGN_OR_RETURN(PadMode mode, ParsePadMode(ctx.node().GetString("mode", "constant"), ctx.opset()));
  std::vector<int64_t> pads;
  std::vector<char> value;
  if (ctx.opset() < 11) {
    pads = ctx.node().GetInts(ctx.opset() < 2 ? "paddings" : "pads");
    if (x.dtype() != DType::kString) {
      TS_ASSIGN_OR_RETURN(value, ElementFromDouble(x.dtype(), ctx.node().GetFloat("value", 0.0f)));
    }
  } else {
    if (!ctx.has_input(1)) return KernelContext::Error("input 'pads' is missing");
    TS_ASSIGN_OR_RETURN(pads, ReadInt64Values(ctx.input(1), "input 'pads'"));
    if (ctx.has_input(2) && ctx.input(2).element_count() > 0 && x.dtype() != DType::kString) {
      const Tensor& v = ctx.input(2);
      if (v.dtype() != x.dtype()) {
        return KernelContext::Error(std::string("input 'constant_value' is ") + DTypeName(v.dtype()) + ", data is " +
                                    DTypeName(x.dtype()));
      }
      value.assign(static_cast<const char*>(v.raw_data()),
                   static_cast<const char*>(v.raw_data()) + DTypeSize(v.dtype()));
    } else if (x.dtype() != DType::kString) {
      value.assign(DTypeSize(x.dtype()), 0);
    }
    if (ctx.has_input(3)) {  // opset 18: pads cover only `axes`
      TS_ASSIGN_OR_RETURN(std::vector<int64_t> axes, ReadInt64Values(ctx.input(3), "input 'axes'"));
      if (pads.size() != 2 * axes.size()) {
        return KernelContext::Error("input 'pads' has " + std::to_string(pads.size()) + " entries for " +
                                    std::to_string(axes.size()) + " axes");
      }
      std::vector<int64_t> full(static_cast<size_t>(2 * rank), 0);
      for (size_t i = 0; i < axes.size(); ++i) {
        TS_ASSIGN_OR_RETURN(int64_t a, NormalizeAxis(axes[i], rank, "pad axis"));
        full[static_cast<size_t>(a)] = pads[i];
        full[static_cast<size_t>(a + rank)] = pads[i + axes.size()];
      }
      pads = std::move(full);
    }
  }
  if (static_cast<int64_t>(pads.size()) != 2 * rank) {
    return KernelContext::Error("pads " + ShapeToString(pads) + " need 2 entries per dim of input " +
                                ShapeToString(x.shape()));
  }
  const std::string empty_string;
  const void* element = x.dtype() == DType::kString ? static_cast<const void*>(&empty_string) : value.data();
  if (x.dtype() == DType::kString && ctx.opset() >= 11 && ctx.has_input(2) && ctx.input(2).element_count() > 0) {
    element = ctx.input(2).raw_data();
  }
  return PadInto(ctx, x, pads, mode, element);
}

// CenterCropPad-18: crops or zero-pads each of `axes` (default all) to the requested size, centred.
Status RunCenterCropPad(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = x.rank();
  if (!ctx.has_input(1)) return KernelContext::Error("input 'shape' is missing");
  TS_ASSIGN_OR_RETURN(std::vector<int64_t> sizes, ReadInt64Values(ctx.input(1), "input 'shape'"));
  std::vector<int64_t> axes = ctx.node().GetInts("axes");
  if (!ctx.node().HasAttribute("axes")) {
    for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  }
  if (axes.size() != sizes.size()) {
    return KernelContext::Error("input 'shape' " + ShapeToString(sizes) + " does not match " +
                                std::to_string(axes.size()) + " axes");
  }
  std::vector<int64_t> pads(static_cast<size_t>(2 * rank), 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    TS_ASSIGN_OR_RETURN(int64_t a, NormalizeAxis(axes[i], rank, "attribute 'axes'"));
    if (sizes[i] < 0) return KernelContext::Error("input 'shape' " + ShapeToString(sizes) + " has a negative size");
    const int64_t diff = sizes[i] - x.dim(a);
    // Cropping removes the extra element at the end, padding adds it at the end (the reference's floor).
    const int64_t begin = diff >= 0 ? diff / 2 : -((-diff) / 2);
    pads[static_cast<size_t>(a)] = begin;
    pads[static_cast<size_t>(a + rank)] = diff - begin;
  }
  std::vector<char> zero(std::max<size_t>(1, DTypeSize(x.dtype())), 0);
  const std::string empty_string;
  const void* element = x.dtype() == DType::kString ? static_cast<const void*>(&empty_string) : zero.data();
  return PadInto(ctx, x, pads, PadMode::kConstant, element);
}

}  // namespace

void RegisterPadKernels(KernelRegistry& registry) {
  registry.Register("Pad", 1, kLatestOpset, MakeFunctionKernel(RunPad));
  registry.Register("CenterCropPad", 18, kLatestOpset, MakeFunctionKernel(RunCenterCropPad));
}

}  // namespace tessera
