// Sequence kernels: the ops that build, read and edit sequences of tensors (opset 11, unchanged since),
// and the family's registration (SplitToSequence and ConcatFromSequence are in sequence_split_concat.cc).
//
// Sequences are immutable values (tessera/value.h): an edit makes a new list of the same tensor handles,
// so no element is ever copied and a sequence read by two nodes stays as each of them saw it.
#include "ops/cpu/sequence/sequence_common.h"
#include "ops/cpu/sequence/sequence_kernels.h"
#include "ops/op_list.h"

namespace tessera {

namespace {

Status RunSequenceEmpty(KernelContext& ctx) {
  const int64_t dtype = ctx.node().GetInt("dtype", static_cast<int64_t>(DType::kFloat32));
  if (dtype < 0 || dtype > INT32_MAX || !IsKnownDType(static_cast<int32_t>(dtype)) || dtype == 0) {
    return KernelContext::Error("attribute 'dtype' is " + std::to_string(dtype) + ", not a tensor element type");
  }
  ctx.SetOutputValue(0, Value::Sequence({}, static_cast<DType>(dtype)));
  return Status::Ok();
}

Status RunSequenceConstruct(KernelContext& ctx) {
  std::vector<Value> elements;
  elements.reserve(ctx.input_count());
  DType dtype = DType::kUndefined;
  for (size_t i = 0; i < ctx.input_count(); ++i) {
    const std::string what = "input " + std::to_string(i);
    TS_ASSIGN_OR_RETURN(const Tensor* t, TensorInput(ctx, i, what.c_str()));
    if (i == 0) dtype = t->dtype();
    TS_RETURN_IF_ERROR(CheckSequenceElement(*t, dtype, what));
    elements.emplace_back(*t);
  }
  if (elements.empty()) return KernelContext::Error("SequenceConstruct needs at least one input");
  ctx.SetOutputValue(0, Value::Sequence(std::move(elements), dtype));
  return Status::Ok();
}

// SequenceInsert(seq, tensor, position = length): position in [-n, n].
Status RunSequenceInsert(KernelContext& ctx) {
  TS_ASSIGN_OR_RETURN(const Value* seq, SequenceInput(ctx, 0, "input_sequence"));
  TS_ASSIGN_OR_RETURN(const Tensor* t, TensorInput(ctx, 1, "tensor"));
  const int64_t length = static_cast<int64_t>(seq->sequence_length());
  int64_t position = length;
  if (ctx.has_input(2)) {
    TS_ASSIGN_OR_RETURN(const Tensor* p, TensorInput(ctx, 2, "position"));
    TS_ASSIGN_OR_RETURN(position, ReadSequencePosition(*p, length, /*allow_end=*/true, "position"));
  }
  TS_RETURN_IF_ERROR(CheckSequenceElement(*t, seq->element_dtype(), "input 'tensor'"));
  std::vector<Value> elements = seq->elements();
  elements.insert(elements.begin() + position, Value(*t));
  const DType dtype = seq->element_dtype() != DType::kUndefined ? seq->element_dtype() : t->dtype();
  ctx.SetOutputValue(0, Value::Sequence(std::move(elements), dtype));
  return Status::Ok();
}

// SequenceAt(seq, position): position in [-n, n-1]; the element itself, not a copy.
Status RunSequenceAt(KernelContext& ctx) {
  TS_ASSIGN_OR_RETURN(const Value* seq, SequenceInput(ctx, 0, "input_sequence"));
  TS_ASSIGN_OR_RETURN(const Tensor* p, TensorInput(ctx, 1, "position"));
  const int64_t length = static_cast<int64_t>(seq->sequence_length());
  TS_ASSIGN_OR_RETURN(int64_t position, ReadSequencePosition(*p, length, /*allow_end=*/false, "position"));
  ctx.SetOutputValue(0, seq->elements()[static_cast<size_t>(position)]);
  return Status::Ok();
}

// SequenceErase(seq, position = -1): position in [-n, n-1].
Status RunSequenceErase(KernelContext& ctx) {
  TS_ASSIGN_OR_RETURN(const Value* seq, SequenceInput(ctx, 0, "input_sequence"));
  const int64_t length = static_cast<int64_t>(seq->sequence_length());
  if (length == 0) return KernelContext::Error("input 'input_sequence' is empty; there is no element to erase");
  int64_t position = length - 1;
  if (ctx.has_input(1)) {
    TS_ASSIGN_OR_RETURN(const Tensor* p, TensorInput(ctx, 1, "position"));
    TS_ASSIGN_OR_RETURN(position, ReadSequencePosition(*p, length, /*allow_end=*/false, "position"));
  }
  std::vector<Value> elements = seq->elements();
  elements.erase(elements.begin() + position);
  ctx.SetOutputValue(0, Value::Sequence(std::move(elements), seq->element_dtype()));
  return Status::Ok();
}

Status RunSequenceLength(KernelContext& ctx) {
  TS_ASSIGN_OR_RETURN(const Value* seq, SequenceInput(ctx, 0, "input_sequence"));
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, DType::kInt64, {}));
  *y->data<int64_t>() = static_cast<int64_t>(seq->sequence_length());
  return Status::Ok();
}

}  // namespace

void RegisterSequenceKernels(KernelRegistry& registry) {
  registry.RegisterValueKernel("SequenceEmpty", 11, kLatestOpset, MakeFunctionKernel(RunSequenceEmpty));
  registry.RegisterValueKernel("SequenceConstruct", 11, kLatestOpset, MakeFunctionKernel(RunSequenceConstruct));
  registry.RegisterValueKernel("SequenceInsert", 11, kLatestOpset, MakeFunctionKernel(RunSequenceInsert));
  registry.RegisterValueKernel("SequenceAt", 11, kLatestOpset, MakeFunctionKernel(RunSequenceAt));
  registry.RegisterValueKernel("SequenceErase", 11, kLatestOpset, MakeFunctionKernel(RunSequenceErase));
  registry.RegisterValueKernel("SequenceLength", 11, kLatestOpset, MakeFunctionKernel(RunSequenceLength));
  RegisterSplitConcatSequenceKernels(registry);
}

}  // namespace tessera
