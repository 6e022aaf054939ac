// Reading and writing numpy .npy files (format versions 1-3, little-endian, C order).
//
// Supported dtypes: float32/64, float16, int8/16/32/64, uint8/16/32/64, bool. A corrupt header, an
// unsupported dtype, Fortran order or a data section of the wrong length is an InvalidArgument naming
// the file.
#pragma once

#include <string>

#include "tessera/tensor.h"

namespace tessera {

StatusOr<Tensor> ReadNpy(const std::string& path);
StatusOr<Tensor> ParseNpy(const std::string& bytes, const std::string& name_for_errors);
Status WriteNpy(const std::string& path, const Tensor& tensor);
std::string SerializeNpy(const Tensor& tensor);

}  // namespace tessera
