// Tensor contents on the wire of the HTTP/REST protocol: JSON `data` arrays and Triton's binary tensor
// data extension.
//
// JSON: `data` is either flat ([1,2,3,4]) or nested row-major ([[1,2],[3,4]]); its leaf count must equal
// the shape's element count. Integers must be integers within the dtype's range, BOOL takes true/false,
// BYTES takes strings, floating types take any number. Outputs are always written flat (as Triton does).
//
// Binary: numeric tensors are their little-endian element bytes in row-major order (BOOL one byte per
// element); BYTES elements are each a 4-byte little-endian length followed by that many bytes.
//
// Every function validates untrusted input and returns InvalidArgument naming the tensor; nothing here
// allocates more than the request's own size justifies (counts are checked before allocating).
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "tessera/status.h"
#include "tessera/tensor.h"

namespace tessera::serve::http {

// Builds a tensor of `dtype` and `shape` from a JSON `data` value.
StatusOr<Tensor> TensorFromJsonData(const nlohmann::json& data, DType dtype, const Shape& shape,
                                    const std::string& name);

// The tensor's elements as a flat JSON array.
nlohmann::json TensorToJsonData(const Tensor& tensor);

// Builds a tensor from the binary extension's bytes for one input.
StatusOr<Tensor> TensorFromBinary(std::string_view bytes, DType dtype, const Shape& shape, const std::string& name);

// Appends the tensor's binary-extension bytes to `out`; returns how many bytes were appended.
size_t AppendTensorBinary(const Tensor& tensor, std::string& out);

}  // namespace tessera::serve::http
