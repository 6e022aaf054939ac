// The open inference protocol's tensor datatype names ("FP32", "INT64", "BYTES", ...) and Tessera's DTypes.
#pragma once

#include <string>

#include "tessera/status.h"
#include "tessera/tensor.h"

namespace tessera::serve {

// "FP32" for kFloat32, "BYTES" for kString, ...; "" for a dtype the protocol has no name for.
std::string KServeDatatype(DType dtype);

// The inverse; InvalidArgument naming `datatype` when the protocol does not define it.
StatusOr<DType> DTypeFromKServe(const std::string& datatype);

}  // namespace tessera::serve
