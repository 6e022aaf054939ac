// The ONNX element types narrower than a byte's worth of float16: float8 (e4m3fn, e4m3fnuz, e5m2,
// e5m2fnuz, e8m0), float4e2m1, int4 and uint4. Conversions to and from double, and the packing of 4-bit
// values two per byte as ONNX files store them.
//
// Conversion to a float8 or float4 type follows the ONNX spec (Cast, docs/technical/float8.md and
// float4.md): round to nearest, ties to even, on the exact value (so a double is rounded once).
// - saturate (the default): anything beyond the largest finite value, infinities included, becomes
//   that value with its sign. The spec's table says NaN for ±Inf into the fnuz types; its reference
//   implementation and onnxruntime give ±max, and so does Tessera.
// - no saturate: a value that rounds beyond the largest finite one becomes ±Inf in e5m2 and NaN in
//   the types without infinities. (For e4m3fn, |x| in [480, 512) rounds to 480 and so is NaN here;
//   ONNX's reference implementation and onnxruntime give ±448 for most of that band.)
// - NaN becomes NaN (0x7F | sign for e4m3fn and e5m2, 0x80 for the fnuz types); -0 becomes 0 in the
//   fnuz types, which have no negative zero.
// - float4e2m1 has neither NaN nor infinities: it always saturates, and NaN becomes +6.
// float8e8m0 (opset 24) is a bare biased exponent: code c is 2^(c - 127), 0xFF is NaN; it has no sign,
// zero or infinity. Conversion to it follows ONNX's reference (numpy_helper.to_float8e8m0): the value is
// first rounded to float32, whose sign is dropped and whose exponent field becomes the code, adjusted by
// Cast-24's round_mode: "up" (the default) takes the next power of two for any nonzero mantissa,
// "down" keeps the exponent, "nearest" goes up from a mantissa of one half (ties up). Zero and float32
// subnormals have exponent field 0, so they become 2^-127 ("up" makes a nonzero subnormal 2^-126).
// NaN and +-Inf become NaN whatever `saturate` says; `saturate` only keeps a round-up from 2^127 at
// 2^127 instead of NaN.
// Conversion to int4/uint4 (int4.md) rounds to the nearest integer, ties to even, and keeps the low
// four bits (values wrap, as Cast's other integer conversions do).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "tessera/tensor.h"

namespace tessera {

// kFloat8* (kFloat8E8M0 included) and kFloat4E2M1.
bool IsMiniFloat(DType dtype);
// kInt4, kUInt4 and kFloat4E2M1: two per byte in ONNX files.
bool IsPackedFourBit(DType dtype);
// Any of the types this header converts (the mini floats and the 4-bit integers).
bool IsLowPrecision(DType dtype);

// The value of `code` (a byte, or a 4-bit code in the low nibble) of a low-precision `dtype`.
double LowPrecisionToDouble(DType dtype, uint8_t code);
// The code of `dtype` nearest to `value` under the rules above; `saturate` matters for float8 only.
uint8_t DoubleToLowPrecision(DType dtype, double value, bool saturate = true);
// Cast-24's round_mode, for conversions to float8e8m0 (the only ones it affects).
enum class E8M0Rounding { kUp, kDown, kNearest };
// Parses "up", "down" or "nearest"; false for anything else.
bool ParseE8M0Rounding(const std::string& name, E8M0Rounding& rounding);
// The float8e8m0 code for `value` under the rules above (DoubleToLowPrecision uses kUp).
uint8_t DoubleToFloat8E8M0(double value, bool saturate, E8M0Rounding rounding);
// The largest finite value of a mini float type.
double MiniFloatMax(DType dtype);

// Bytes an ONNX file uses for `count` elements of `dtype`: ceil(count / 2) for the 4-bit types.
size_t PackedByteSize(DType dtype, size_t count);
// ONNX's packing: element 2i in the low nibble of byte i, element 2i+1 in its high nibble; an odd
// count leaves the last high nibble zero. `packed` holds PackedByteSize bytes, `codes` `count` bytes.
void PackNibbles(const uint8_t* codes, size_t count, uint8_t* packed);
// The inverse; each code lands in the low nibble of its byte.
void UnpackNibbles(const uint8_t* packed, size_t count, uint8_t* codes);

}  // namespace tessera
