// KernelContext output handling.
#include "ops/kernel.h"

namespace tessera {

StatusOr<Tensor*> KernelContext::AllocateOutput(size_t i, DType dtype, Shape shape) {
  if (i >= outputs_.size()) outputs_.resize(i + 1);
  auto t = Tensor::Allocate(dtype, std::move(shape));
  if (!t.ok()) return t.status().WithContext("output " + std::to_string(i));
  outputs_[i] = std::move(t).value();
  return &outputs_[i];
}

void KernelContext::SetOutput(size_t i, Tensor tensor) {
  if (i >= outputs_.size()) outputs_.resize(i + 1);
  outputs_[i] = std::move(tensor);
}

KernelFactory MakeFunctionKernel(FunctionKernel::Fn fn) {
  return [fn = std::move(fn)](const KernelInit&) -> StatusOr<std::unique_ptr<Kernel>> {
    return std::unique_ptr<Kernel>(std::make_unique<FunctionKernel>(fn));
  };
}

}  // namespace tessera
