// How far a compressed model (quantized or pruned) is from its float original: both run on every sample,
// compared at each compressed node's output and at each model output (worst max |diff|, lowest cosine).
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <utility>
#include <vector>

#include "compress/calibration_data.h"
#include "compress/progress_bar.h"
#include "compress/quantize_report.h"

namespace tessera::compress {

// Fills each layer's output_error (at LayerReport::output) and appends one entry per model output to
// `model_outputs`. The models' external data resolve in `float_dir` and `compressed_dir`.
Status MeasureErrors(const onnx::ModelProto& float_model, const onnx::ModelProto& compressed,
                     const std::string& float_dir, const std::string& compressed_dir, const std::string& name,
                     const std::vector<CalibrationSample>& samples, std::vector<LayerReport>& layers,
                     std::vector<std::pair<std::string, ErrorStats>>& model_outputs, ProgressBar& bar);

}  // namespace tessera::compress
