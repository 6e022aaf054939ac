// `tessera quantize` as a library call: float ONNX model file in, quantized ONNX model file out, with a
// per-layer report. The modes and the ONNX they write: quantize_options.h and docs/compression.md.
#pragma once

#include <string>

#include "compress/quantize_options.h"
#include "compress/quantize_report.h"

namespace tessera::compress {

// Reads `in_path`, rewrites it as `options` ask and writes `out_path` (model_writer.h: inline or external
// data). Errors name the model and the node or value at fault: an unreadable model, a model with nothing
// to quantize, calibration samples that do not fit the model. Options are validated first.
StatusOr<QuantizeReport> QuantizeModelFile(const std::string& in_path, const std::string& out_path,
                                           const QuantizeOptions& options);

}  // namespace tessera::compress
