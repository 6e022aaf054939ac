// What `tessera quantize` is asked to do: the mode, the number formats and the calibration source.
//
// The three modes and the ONNX they write are described in docs/compression.md:
//   weights  MatMul/Gemm with a constant 2-D weight -> com.microsoft MatMulNBits (4 or 8 bits, blockwise)
//   dynamic  the same nodes -> DynamicQuantizeLinear + MatMulInteger + the scale multiply (ORT's form)
//   static   Conv/MatMul/Gemm inputs -> QuantizeLinear/DequantizeLinear pairs with calibrated scales
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tessera/status.h"

namespace tessera::compress {

enum class QuantizeMode { kWeights, kDynamic, kStatic };
enum class CalibrationMethod { kMinMax, kPercentile, kEntropy };

struct QuantizeOptions {
  QuantizeMode mode = QuantizeMode::kWeights;
  int bits = 4;                 // weights mode: 4 or 8; dynamic and static always use 8
  int64_t block_size = 32;      // weights mode: a power of two >= 16 (MatMulNBits' rule)
  bool symmetric = false;       // zero points of 0 (int8 values); otherwise asymmetric with zero points
  bool per_channel = false;     // dynamic/static: one weight scale per output channel
  std::string calibration_dir;  // .npy samples (calibration_data.h); required by static
  CalibrationMethod calibrate = CalibrationMethod::kMinMax;
  double percentile = 99.99;         // for CalibrationMethod::kPercentile
  std::vector<std::string> exclude;  // node names or op types left in float
  bool progress = false;             // draw a progress bar on stderr
};

StatusOr<QuantizeMode> ParseQuantizeMode(const std::string& text);
StatusOr<CalibrationMethod> ParseCalibrationMethod(const std::string& text);
const char* QuantizeModeName(QuantizeMode mode);
const char* CalibrationMethodName(CalibrationMethod method);

// Checks the combination (bits 4 or 8, block size, static needs a calibration folder); InvalidArgument
// naming the flag at fault.
Status ValidateQuantizeOptions(const QuantizeOptions& options);

}  // namespace tessera::compress
