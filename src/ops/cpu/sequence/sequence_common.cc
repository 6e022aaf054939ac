// Sequence inputs, positions and element dtypes, checked with messages that name the input at fault.
#include "ops/cpu/sequence/sequence_common.h"

#include "ops/op_helpers.h"

namespace tessera {

StatusOr<const Value*> SequenceInput(const KernelContext& ctx, size_t i, const char* what) {
  if (!ctx.has_input(i)) return KernelContext::Error(std::string("input '") + what + "' is missing");
  const Value& v = ctx.input_value(i);
  if (!v.is_sequence()) {
    return KernelContext::Error(std::string("input '") + what + "' must be a sequence, got " + v.Describe());
  }
  return &v;
}

StatusOr<const Tensor*> TensorInput(const KernelContext& ctx, size_t i, const char* what) {
  if (!ctx.has_input(i)) return KernelContext::Error(std::string("input '") + what + "' is missing");
  const Value& v = ctx.input_value(i);
  if (!v.is_tensor()) {
    return KernelContext::Error(std::string("input '") + what + "' must be a tensor, got " + v.Describe());
  }
  return &v.tensor();
}

StatusOr<int64_t> ReadSequencePosition(const Tensor& t, int64_t length, bool allow_end, const char* what) {
  if (t.element_count() != 1) {
    return KernelContext::Error(std::string("input '") + what + "' must be a scalar, got shape " +
                                ShapeToString(t.shape()));
  }
  TS_ASSIGN_OR_RETURN(std::vector<int64_t> values, ReadInt64Values(t, what));
  const int64_t position = values[0];
  const int64_t last = allow_end ? length : length - 1;
  if (position < -length || position > last) {
    return KernelContext::Error(std::string("input '") + what + "' is " + std::to_string(position) +
                                ", outside [" + std::to_string(-length) + ", " + std::to_string(last) +
                                "] for a sequence of " + std::to_string(length) + " tensors");
  }
  return position < 0 ? position + length : position;
}

Status CheckSequenceElement(const Tensor& element, DType element_dtype, const std::string& what) {
  if (element_dtype != DType::kUndefined && element.dtype() != element_dtype) {
    return KernelContext::Error(what + " is " + DTypeName(element.dtype()) + ", but the sequence holds " +
                                DTypeName(element_dtype) + " tensors (a sequence has one element dtype)");
  }
  return Status::Ok();
}

}  // namespace tessera
