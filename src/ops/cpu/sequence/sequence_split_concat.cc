// SplitToSequence (opset 11; opset 24 widens the types only) and ConcatFromSequence (opset 11): between one
// tensor and a sequence of its pieces along an axis.
//
// SplitToSequence's forms: without `split`, pieces of length 1 (the axis dropped when keepdims=0); a
// scalar `split`, pieces of that length with a shorter last one; a 1-D `split`, the listed lengths, which
// must add up to the axis (keepdims is ignored when `split` is given, as the spec says).
// ConcatFromSequence joins along an existing axis, or with new_axis=1 stacks along a new one (axis then
// ranges over [-rank-1, rank]).
#include "ops/cpu/common/strided_copy.h"
#include "ops/cpu/sequence/sequence_common.h"
#include "ops/cpu/sequence/sequence_kernels.h"
#include "ops/op_helpers.h"

namespace tessera {

namespace {

// Elements before `axis` and after it.
void OuterInner(const Shape& shape, int64_t axis, int64_t& outer, int64_t& inner) {
  outer = 1;
  inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
}

// Rows [start, start + length) of `x` along `axis`: a view when only one outer block exists, else a copy.
StatusOr<Tensor> PieceAlongAxis(const Tensor& x, int64_t axis, int64_t start, int64_t length) {
  Shape shape = x.shape();
  const int64_t dim = shape[static_cast<size_t>(axis)];
  shape[static_cast<size_t>(axis)] = length;
  int64_t outer = 0, inner = 0;
  OuterInner(x.shape(), axis, outer, inner);
  const size_t element = DTypeSize(x.dtype());
  if (outer == 1 || length == 0) {
    if (length == 0) return Tensor::Allocate(x.dtype(), std::move(shape));
    return Tensor(x.dtype(), std::move(shape), x.buffer(), x.offset() + static_cast<size_t>(start * inner) * element);
  }
  TS_ASSIGN_OR_RETURN(Tensor out, Tensor::AllocateUninitialized(x.dtype(), std::move(shape)));
  const char* src = static_cast<const char*>(x.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  const int64_t block = length * inner;
  for (int64_t o = 0; o < outer; ++o) {
    CopyElements(x.dtype(), src + static_cast<size_t>((o * dim + start) * inner) * element,
                 dst + static_cast<size_t>(o * block) * element, block);
  }
  return out;
}

// The piece lengths along an axis of size `dim` that the optional `split` input asks for.
StatusOr<std::vector<int64_t>> SplitLengths(const KernelContext& ctx, int64_t dim) {
  std::vector<int64_t> lengths;
  if (!ctx.has_input(1)) {
    lengths.assign(static_cast<size_t>(dim), 1);
    return lengths;
  }
  TS_ASSIGN_OR_RETURN(const Tensor* split, TensorInput(ctx, 1, "split"));
  TS_ASSIGN_OR_RETURN(std::vector<int64_t> values, ReadInt64Values(*split, "split"));
  if (split->rank() == 0) {
    const int64_t chunk = values[0];
    if (chunk <= 0) return KernelContext::Error("input 'split' is " + std::to_string(chunk) + "; it must be positive");
    for (int64_t start = 0; start < dim; start += chunk) lengths.push_back(std::min(chunk, dim - start));
    return lengths;
  }
  if (split->rank() != 1) {
    return KernelContext::Error("input 'split' must be a scalar or 1-D, got shape " + ShapeToString(split->shape()));
  }
  int64_t total = 0;
  for (int64_t v : values) {
    if (v < 0) return KernelContext::Error("input 'split' holds the negative length " + std::to_string(v));
    total += v;
  }
  if (total != dim) {
    return KernelContext::Error("input 'split' adds up to " + std::to_string(total) + " but the axis has " +
                                std::to_string(dim) + " elements");
  }
  return values;
}

Status RunSplitToSequence(KernelContext& ctx) {
  TS_ASSIGN_OR_RETURN(const Tensor* x, TensorInput(ctx, 0, "input"));
  if (x->rank() == 0) return KernelContext::Error("input 'input' is a scalar; there is no axis to split");
  TS_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(ctx.node().GetInt("axis", 0), x->rank(), "attribute 'axis'"));
  const bool keepdims = ctx.node().GetInt("keepdims", 1) != 0;
  TS_ASSIGN_OR_RETURN(std::vector<int64_t> lengths, SplitLengths(ctx, x->dim(axis)));
  const bool squeeze = !ctx.has_input(1) && !keepdims;
  std::vector<Value> pieces;
  pieces.reserve(lengths.size());
  int64_t start = 0;
  for (int64_t length : lengths) {
    TS_ASSIGN_OR_RETURN(Tensor piece, PieceAlongAxis(*x, axis, start, length));
    if (squeeze) {
      Shape shape = piece.shape();
      shape.erase(shape.begin() + axis);
      piece = piece.Reshaped(std::move(shape));
    }
    pieces.emplace_back(std::move(piece));
    start += length;
  }
  ctx.SetOutputValue(0, Value::Sequence(std::move(pieces), x->dtype()));
  return Status::Ok();
}

Status RunConcatFromSequence(KernelContext& ctx) {
  TS_ASSIGN_OR_RETURN(const Value* seq, SequenceInput(ctx, 0, "input_sequence"));
  if (!ctx.node().HasAttribute("axis")) return KernelContext::Error("attribute 'axis' is required");
  const bool new_axis = ctx.node().GetInt("new_axis", 0) != 0;
  const auto& elements = seq->elements();
  if (elements.empty()) {
    return KernelContext::Error("input 'input_sequence' is empty; there is nothing to concatenate");
  }
  const Tensor& first = elements[0].tensor();
  const int64_t out_rank = first.rank() + (new_axis ? 1 : 0);
  if (out_rank == 0) return KernelContext::Error("the sequence holds scalars; concatenating them needs new_axis=1");
  TS_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(ctx.node().GetInt("axis", 0), out_rank, "attribute 'axis'"));
  // Every element as the output sees it (the new axis of length 1 inserted).
  std::vector<Tensor> parts;
  parts.reserve(elements.size());
  Shape out_shape;
  for (size_t i = 0; i < elements.size(); ++i) {
    const std::string what = "sequence element " + std::to_string(i);
    if (!elements[i].is_tensor()) return KernelContext::Error(what + " is " + elements[i].Describe());
    const Tensor& t = elements[i].tensor();
    TS_RETURN_IF_ERROR(CheckSequenceElement(t, first.dtype(), what));
    Shape shape = t.shape();
    if (new_axis) shape.insert(shape.begin() + axis, 1);
    if (i == 0) {
      out_shape = shape;
      out_shape[static_cast<size_t>(axis)] = 0;
    }
    bool fits = static_cast<int64_t>(shape.size()) == out_rank;
    for (size_t d = 0; fits && d < shape.size(); ++d) fits = d == static_cast<size_t>(axis) || shape[d] == out_shape[d];
    if (!fits) {
      return KernelContext::Error(what + " has shape " + ShapeToString(t.shape()) +
                                  ", which does not fit element 0's " + ShapeToString(first.shape()) +
                                  " along axis " + std::to_string(axis));
    }
    out_shape[static_cast<size_t>(axis)] += shape[static_cast<size_t>(axis)];
    parts.push_back(t.Reshaped(std::move(shape)));
  }
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, first.dtype(), out_shape));
  int64_t outer = 0, inner = 0;
  OuterInner(out_shape, axis, outer, inner);
  const size_t element = DTypeSize(first.dtype());
  const int64_t out_block = out_shape[static_cast<size_t>(axis)] * inner;
  char* dst = static_cast<char*>(y->raw_data());
  int64_t offset = 0;  // elements into each output block
  for (const Tensor& part : parts) {
    const int64_t block = part.dim(axis) * inner;
    const char* src = static_cast<const char*>(part.raw_data());
    for (int64_t o = 0; o < outer && block > 0; ++o) {
      CopyElements(first.dtype(), src + static_cast<size_t>(o * block) * element,
                   dst + static_cast<size_t>(o * out_block + offset) * element, block);
    }
    offset += block;
  }
  return Status::Ok();
}

}  // namespace

void RegisterSplitConcatSequenceKernels(KernelRegistry& registry) {
  registry.RegisterValueKernel("SplitToSequence", 11, kLatestOpset, MakeFunctionKernel(RunSplitToSequence));
  registry.RegisterValueKernel("ConcatFromSequence", 11, kLatestOpset, MakeFunctionKernel(RunConcatFromSequence));
}

}  // namespace tessera
