// Pieces the sequence kernels share: reading a sequence input and a position, and checking that a tensor
// may join a sequence (one element dtype per sequence).
#pragma once

#include <cstdint>
#include <string>

#include "ops/kernel.h"

namespace tessera {

// Input `i` of `ctx` as a sequence; an error naming `what` when it is missing or not a sequence.
StatusOr<const Value*> SequenceInput(const KernelContext& ctx, size_t i, const char* what);

// Input `i` of `ctx` as a tensor (sequence ops take tensors beside sequences); an error naming `what`
// when it is missing or of another kind.
StatusOr<const Tensor*> TensorInput(const KernelContext& ctx, size_t i, const char* what);

// The position held by an int32/int64 scalar (or one-element) tensor, made non-negative against
// `length`: valid positions are [-length, length - 1], or [-length, length] when `allow_end` (an
// insertion may append). The error names `what` and the valid range.
StatusOr<int64_t> ReadSequencePosition(const Tensor& t, int64_t length, bool allow_end, const char* what);

// Whether `element` may join a sequence of `element_dtype`: an error naming `what` otherwise.
Status CheckSequenceElement(const Tensor& element, DType element_dtype, const std::string& what);

}  // namespace tessera
