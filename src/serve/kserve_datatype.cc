// Datatype names as the protocol spells them (KServe v2 "Tensor Data Types"), and Tessera's names for the
// low-precision types the protocol lacks (their wire forms: serve/low_precision_wire.h).
#include "serve/kserve_datatype.h"

#include <array>
#include <utility>

namespace tessera::serve {

namespace {
constexpr std::array<std::pair<DType, const char*>, 22> kNames = {{
    {DType::kBool, "BOOL"},
    {DType::kUInt8, "UINT8"},
    {DType::kUInt16, "UINT16"},
    {DType::kUInt32, "UINT32"},
    {DType::kUInt64, "UINT64"},
    {DType::kInt8, "INT8"},
    {DType::kInt16, "INT16"},
    {DType::kInt32, "INT32"},
    {DType::kInt64, "INT64"},
    {DType::kFloat16, "FP16"},
    {DType::kFloat32, "FP32"},
    {DType::kFloat64, "FP64"},
    {DType::kString, "BYTES"},
    {DType::kBFloat16, "BF16"},
    {DType::kFloat8E4M3FN, "FP8E4M3FN"},
    {DType::kFloat8E4M3FNUZ, "FP8E4M3FNUZ"},
    {DType::kFloat8E5M2, "FP8E5M2"},
    {DType::kFloat8E5M2FNUZ, "FP8E5M2FNUZ"},
    {DType::kFloat8E8M0, "FP8E8M0"},
    {DType::kFloat4E2M1, "FP4E2M1"},
    {DType::kInt4, "INT4"},
    {DType::kUInt4, "UINT4"},
}};
}  // namespace

std::string KServeDatatype(DType dtype) {
  for (const auto& [d, name] : kNames) {
    if (d == dtype) return name;
  }
  return "";
}

StatusOr<DType> DTypeFromKServe(const std::string& datatype) {
  for (const auto& [d, name] : kNames) {
    if (datatype == name) return d;
  }
  return InvalidArgument("unknown tensor datatype '" + datatype +
                         "' (expected one of BOOL, UINT8..UINT64, INT8..INT64, FP16, FP32, FP64, BF16, BYTES, "
                         "or Tessera's FP8E4M3FN, FP8E4M3FNUZ, FP8E5M2, FP8E5M2FNUZ, FP8E8M0, FP4E2M1, INT4, UINT4)");
}

}  // namespace tessera::serve
