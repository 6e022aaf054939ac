// Parsing and checking of QuantizeOptions.
#include "compress/quantize_options.h"

namespace tessera::compress {

StatusOr<QuantizeMode> ParseQuantizeMode(const std::string& text) {
  if (text == "weights") return QuantizeMode::kWeights;
  if (text == "dynamic") return QuantizeMode::kDynamic;
  if (text == "static") return QuantizeMode::kStatic;
  return InvalidArgument("--mode must be weights, dynamic or static, got '" + text + "'");
}

StatusOr<CalibrationMethod> ParseCalibrationMethod(const std::string& text) {
  if (text == "minmax") return CalibrationMethod::kMinMax;
  if (text == "percentile") return CalibrationMethod::kPercentile;
  if (text == "entropy") return CalibrationMethod::kEntropy;
  return InvalidArgument("--calibrate must be minmax, percentile or entropy, got '" + text + "'");
}

const char* QuantizeModeName(QuantizeMode mode) {
  switch (mode) {
    case QuantizeMode::kWeights:
      return "weights";
    case QuantizeMode::kDynamic:
      return "dynamic";
    case QuantizeMode::kStatic:
      return "static";
  }
  return "?";
}

const char* CalibrationMethodName(CalibrationMethod method) {
  switch (method) {
    case CalibrationMethod::kMinMax:
      return "minmax";
    case CalibrationMethod::kPercentile:
      return "percentile";
    case CalibrationMethod::kEntropy:
      return "entropy";
  }
  return "?";
}

Status ValidateQuantizeOptions(const QuantizeOptions& options) {
  if (options.bits != 4 && options.bits != 8) {
    return InvalidArgument("--bits must be 4 or 8, got " + std::to_string(options.bits));
  }
  if (options.mode != QuantizeMode::kWeights && options.bits != 8) {
    return InvalidArgument(std::string("--bits ") + std::to_string(options.bits) + " is for --mode weights; " +
                           QuantizeModeName(options.mode) + " quantizes to 8 bits");
  }
  const int64_t b = options.block_size;
  if (b < 16 || b > (int64_t{1} << 20) || (b & (b - 1)) != 0) {
    return InvalidArgument("--block must be a power of two >= 16 (MatMulNBits' block_size), got " + std::to_string(b));
  }
  if (options.mode == QuantizeMode::kStatic && options.calibration_dir.empty()) {
    return InvalidArgument(
        "--mode static needs --calibration DIR: activation scales come from running the model "
        "on sample inputs");
  }
  if (options.percentile <= 50.0 || options.percentile > 100.0) {
    return InvalidArgument("the calibration percentile must be in (50, 100], got " +
                           std::to_string(options.percentile));
  }
  return Status::Ok();
}

}  // namespace tessera::compress
