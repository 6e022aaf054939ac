// Concat and Split: joining and cutting along one axis.
//
// Both view every tensor as [outer, axis * inner] rows, so each input (or output) is one strided copy of
// contiguous runs. Split's sizes come from the `split` attribute before opset 13, the optional input 1
// from 13 (and also at opset 1, which allowed either), and `num_outputs` from 18, which alone allows an
// uneven last chunk; without any, the axis is split equally over the outputs. A Split whose axis has
// only dims of 1 before it returns views into the input instead of copies.
#include <string>
#include <vector>

#include "ops/cpu/shape/shape_kernels.h"
#include "ops/cpu/common/strided_copy.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

char* ElementAt(void* base, DType dtype, int64_t index) {
  return static_cast<char*>(base) + static_cast<size_t>(index) * DTypeSize(dtype);
}
const char* ElementAt(const void* base, DType dtype, int64_t index) {
  return static_cast<const char*>(base) + static_cast<size_t>(index) * DTypeSize(dtype);
}

Status RunConcat(KernelContext& ctx) {
  if (ctx.input_count() == 0 || !ctx.has_input(0)) return KernelContext::Error("needs at least one input");
  const Tensor& first = ctx.input(0);
  const int64_t rank = first.rank();
  if (rank == 0) return KernelContext::Error("cannot concatenate scalars");
  TS_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(ctx.node().GetInt("axis", 1), rank, "attribute 'axis'"));
  Shape out_shape = first.shape();
  out_shape[static_cast<size_t>(axis)] = 0;
  for (size_t i = 0; i < ctx.input_count(); ++i) {
    if (!ctx.has_input(i)) return KernelContext::Error("input " + std::to_string(i) + " is missing");
    const Tensor& t = ctx.input(i);
    bool fits = t.rank() == rank && t.dtype() == first.dtype();
    for (int64_t d = 0; fits && d < rank; ++d) fits = d == axis || t.dim(d) == first.dim(d);
    if (!fits) {
      return KernelContext::Error("input " + std::to_string(i) + " (" + DTypeName(t.dtype()) + " " +
                                  ShapeToString(t.shape()) + ") does not match input 0 (" + DTypeName(first.dtype()) +
                                  " " + ShapeToString(first.shape()) + ") outside axis " + std::to_string(axis));
    }
    out_shape[static_cast<size_t>(axis)] += t.dim(axis);
  }
  if (ctx.input_count() == 1) {
    ctx.SetOutput(0, first);
    return Status::Ok();
  }
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, first.dtype(), out_shape));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d) {
    if (d < axis) outer *= out_shape[static_cast<size_t>(d)];
    if (d > axis) inner *= out_shape[static_cast<size_t>(d)];
  }
  const int64_t row = out_shape[static_cast<size_t>(axis)] * inner;
  int64_t offset = 0;
  for (size_t i = 0; i < ctx.input_count(); ++i) {
    const Tensor& t = ctx.input(i);
    const int64_t run = t.dim(axis) * inner;
    TS_RETURN_IF_ERROR(CopyStrided(t.dtype(), t.raw_data(), {run, 1}, ElementAt(y->raw_data(), y->dtype(), offset),
                                   {row, 1}, {outer, run}, ctx.pool()));
    offset += run;
  }
  return Status::Ok();
}

// Sizes of the chunks along an axis of `dim` elements.
StatusOr<std::vector<int64_t>> SplitSizes(KernelContext& ctx, int64_t dim) {
  const Node& node = ctx.node();
  std::vector<int64_t> sizes;
  const bool input_form = ctx.opset() >= 13 || ctx.opset() == 1;
  if (input_form && ctx.has_input(1)) {
    TS_ASSIGN_OR_RETURN(sizes, ReadInt64Values(ctx.input(1), "input 'split'"));
  } else if (!input_form || node.HasAttribute("split")) {
    sizes = node.GetInts("split");
  }
  const int64_t outputs = static_cast<int64_t>(ctx.output_count());
  if (sizes.empty()) {
    const int64_t n = ctx.opset() >= 18 ? node.GetInt("num_outputs", outputs) : outputs;
    if (n <= 0 || n != outputs) {
      return KernelContext::Error("'num_outputs' " + std::to_string(n) + " does not match the node's " +
                                  std::to_string(outputs) + " outputs");
    }
    // Opset 18 allows an uneven split whose last chunk is smaller; earlier ones require an even one.
    const int64_t chunk = (dim + n - 1) / n;
    if (dim % n != 0 && ctx.opset() < 18) {
      return KernelContext::Error("axis of size " + std::to_string(dim) + " cannot be split evenly into " +
                                  std::to_string(n) + " outputs");
    }
    for (int64_t i = 0; i < n; ++i) sizes.push_back(std::max<int64_t>(0, std::min(chunk, dim - i * chunk)));
    return sizes;
  }
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0) return KernelContext::Error("split sizes must be >= 0, got " + std::to_string(s));
    total += s;
  }
  if (total != dim || static_cast<int64_t>(sizes.size()) != outputs) {
    return KernelContext::Error("split sizes " + ShapeToString(sizes) + " do not cover the axis of size " +
                                std::to_string(dim) + " with " + std::to_string(outputs) + " outputs");
  }
  return sizes;
}

Status RunSplit(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() == 0) return KernelContext::Error("cannot split a scalar");
  TS_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(ctx.node().GetInt("axis", 0), x.rank(), "attribute 'axis'"));
  TS_ASSIGN_OR_RETURN(std::vector<int64_t> sizes, SplitSizes(ctx, x.dim(axis)));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < x.rank(); ++d) {
    if (d < axis) outer *= x.dim(d);
    if (d > axis) inner *= x.dim(d);
  }
  const int64_t row = x.dim(axis) * inner;
  int64_t offset = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    Shape shape = x.shape();
    shape[static_cast<size_t>(axis)] = sizes[i];
    const int64_t run = sizes[i] * inner;
    if (ctx.wants_output(i) && outer == 1 && run > 0 && x.buffer() != nullptr) {
      // Splitting the leading dims: each chunk is one contiguous block of the input, returned as a view.
      ctx.SetOutput(
          i, Tensor(x.dtype(), shape, x.buffer(), x.offset() + static_cast<size_t>(offset) * DTypeSize(x.dtype())));
    } else if (ctx.wants_output(i)) {
      TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(i, x.dtype(), shape));
      TS_RETURN_IF_ERROR(CopyStrided(x.dtype(), ElementAt(x.raw_data(), x.dtype(), offset), {row, 1}, y->raw_data(),
                                     {run, 1}, {outer, run}, ctx.pool()));
    }
    offset += run;
  }
  return Status::Ok();
}

}  // namespace

void RegisterConcatSplitKernels(KernelRegistry& registry) {
  registry.Register("Concat", 1, kLatestOpset, MakeFunctionKernel(RunConcat));
  registry.Register("Split", 1, kLatestOpset, MakeFunctionKernel(RunSplit));
}

}  // namespace tessera
