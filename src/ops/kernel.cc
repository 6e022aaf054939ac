// KernelContext output handling.
#include "ops/kernel.h"

namespace tessera {

const Value KernelContext::kNoneValue;

StatusOr<Tensor*> KernelContext::AllocateOutput(size_t i, DType dtype, Shape shape) {
  return AllocateOutputImpl(i, dtype, std::move(shape), /*zero=*/true);
}

StatusOr<Tensor*> KernelContext::AllocateUninitializedOutput(size_t i, DType dtype, Shape shape) {
  return AllocateOutputImpl(i, dtype, std::move(shape), /*zero=*/false);
}

// The executor sizes `outputs_` to the node's output count before Run, so indexing never grows the
// vector (growing would move tensors whose addresses a kernel already holds).
StatusOr<Tensor*> KernelContext::AllocateOutputImpl(size_t i, DType dtype, Shape shape, bool zero) {
  if (i >= outputs_.size()) {
    return Internal("kernel allocated output " + std::to_string(i) + " but the node has " +
                    std::to_string(outputs_.size()) + " outputs");
  }
  auto t = zero ? Tensor::Allocate(dtype, std::move(shape)) : Tensor::AllocateUninitialized(dtype, std::move(shape));
  if (!t.ok()) return t.status().WithContext("output " + std::to_string(i));
  outputs_[i] = Value(std::move(t).value());
  return outputs_[i].mutable_tensor();
}

void KernelContext::SetOutput(size_t i, Tensor tensor) {
  if (i < outputs_.size()) outputs_[i] = Value(std::move(tensor));
}

void KernelContext::SetOutputValue(size_t i, Value value) {
  if (i < outputs_.size()) outputs_[i] = std::move(value);
}

KernelFactory MakeFunctionKernel(FunctionKernel::Fn fn) {
  return [fn = std::move(fn)](const KernelInit&) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<FunctionKernel>(fn));
  };
}

}  // namespace tessera
