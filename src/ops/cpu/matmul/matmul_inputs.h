// Presence checks for required inputs, shared by the MatMul and quantization families.
//
// The loader's ONNX checker rejects nodes that leave a required input empty, but kernels do not rely on
// it: a missing input becomes an error naming the op and the input, never a null dereference.
#pragma once

#include <initializer_list>
#include <string>

#include "ops/kernel.h"

namespace tessera {

inline Status RequirePresentInputs(const KernelContext& ctx, std::initializer_list<size_t> indices, const char* op) {
  for (size_t i : indices) {
    if (!ctx.has_input(i)) return KernelContext::Error(std::string(op) + " requires input " + std::to_string(i));
  }
  return Status::Ok();
}

}  // namespace tessera
