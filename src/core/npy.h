// Reading and writing numpy .npy files (format versions 1-3, little-endian, C order).
//
// Supported dtypes: float32/64, float16, int8/16/32/64, uint8/16/32/64, bool. A corrupt header, an
// unsupported dtype, Fortran order or a data section of the wrong length is an InvalidArgument naming
// the file.
//
// numpy has no bfloat16, float8, float4 or 4-bit integer dtype. Tensors of those types are written with
// the same shape as raw codes, one element per array element:
//   bfloat16                     '<u2'  the bit pattern
//   float8e4m3fn, e4m3fnuz, e5m2, e5m2fnuz, float4e2m1   '|u1'  the bit pattern (float4: 0..15)
//   uint4                        '|u1'  the value, 0..15
//   int4                         '|i1'  the value, -8..7
// (as ml_dtypes' arrays look after `.view(np.uint8)`), and ConvertNpyToDeclared reads such a file back
// for an input declared with the type.
#pragma once

#include <string>

#include "tessera/tensor.h"

namespace tessera {

StatusOr<Tensor> ReadNpy(const std::string& path);
StatusOr<Tensor> ParseNpy(const std::string& bytes, const std::string& name_for_errors);
Status WriteNpy(const std::string& path, const Tensor& tensor);
std::string SerializeNpy(const Tensor& tensor);

// A tensor read from .npy, made the `declared` dtype of the value it feeds (`name` is for errors):
// the raw-code arrays above become tensors of their type (a code out of range is an InvalidArgument),
// and a float32/float64 array fed to a float16, bfloat16, float8 or float4 value is converted (round to
// nearest even, saturating). Any other pairing is returned unchanged for the caller's dtype check.
StatusOr<Tensor> ConvertNpyToDeclared(Tensor tensor, DType declared, const std::string& name);

}  // namespace tessera
