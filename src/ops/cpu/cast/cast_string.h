// Cast between strings and numbers (Cast/CastLike with a string input or output).
#pragma once

#include "tessera/tensor.h"

namespace tessera {

// Writes each element of `in` (any numeric or bool dtype) as text into the string tensor `out`.
// Floats use the shortest text that reads back to the same value; NaN and infinities are written
// "NaN", "INF" and "-INF". Bools are "1" and "0".
Status CastToString(const Tensor& in, Tensor& out);

// Parses each string of `in` into `out`'s (numeric or bool) dtype. Floats accept what strtod accepts,
// including "NaN", "INF", "+INF" and "-INF" in any case; integers must be decimal and in range; bools
// accept "true"/"false" or a number. Text that does not parse fully is an error naming the element.
Status CastFromString(const Tensor& in, Tensor& out);

}  // namespace tessera
