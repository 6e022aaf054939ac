// How the float8, float4e2m1 and 4-bit integer types travel in the inference protocol's binary forms
// (HTTP binary tensor data, gRPC raw_input_contents / raw_output_contents).
//
// The protocol names no such types; Tessera's datatype strings for them are FP8E4M3FN, FP8E4M3FNUZ,
// FP8E5M2, FP8E5M2FNUZ, FP8E8M0, FP4E2M1, INT4 and UINT4 (serve/kserve_datatype.cc). float8 elements are
// one byte each, the type's code. The 4-bit types are packed as in ONNX files: element 2i in the low
// nibble of byte i, element 2i+1 in its high nibble, ceil(count / 2) bytes with an odd count's last high
// nibble zero. In JSON they are numbers: floats rounded to the nearest code (saturating at the type's
// largest finite value; FP8E8M0 rounds up to a power of two, as Cast does by default), INT4 and UINT4
// integers in [-8, 7] and [0, 15].
#pragma once

#include <string>
#include <string_view>

#include "tessera/status.h"
#include "tessera/tensor.h"

namespace tessera::serve {

// Bytes `count` elements of `dtype` take on the wire; 0 with `ok` false when the count overflows.
size_t WireByteSize(DType dtype, int64_t count, bool* ok);
// Fills `t` (already of its dtype and shape) from exactly WireByteSize bytes; a 4-bit code with a
// nonzero padding nibble is refused (naming `where`).
Status ReadWireBytes(std::string_view bytes, Tensor& t, const std::string& where);
// Appends `t`'s wire bytes to `out`.
void AppendWireBytes(const Tensor& t, std::string& out);

}  // namespace tessera::serve
