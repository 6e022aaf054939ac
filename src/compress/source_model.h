// The model a compression command starts from and the steps every command ends with, shared by
// `tessera quantize` and `tessera prune`.
#pragma once

#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "compress/calibration_data.h"
#include "compress/progress_bar.h"
#include "compress/quantize_report.h"
#include "tessera/status.h"

namespace tessera::compress {

struct SourceModel {
  std::string name;    // the file's name, for messages
  std::string folder;  // where its external data is resolved; "." for a bare file name
  onnx::ModelProto proto;
  std::vector<CalibrationSample> samples;  // empty without a calibration folder
};

// The folder of `path`, "." when it names a file in the working directory.
std::string FolderOf(const std::string& path);

// Reads the model at `path` and, when `calibration_dir` is not empty, the samples for the inputs it is fed.
StatusOr<SourceModel> ReadSourceModel(const std::string& path, const std::string& calibration_dir);

// Writes `compressed` (marked as made by `producer`) to `out_path`, records its weight bytes and, when there
// are samples, measures every layer and output against the source model.
Status WriteAndMeasure(const SourceModel& source, onnx::ModelProto& compressed, const std::string& producer,
                       const std::string& out_path, QuantizeReport& report, ProgressBar& bar);

}  // namespace tessera::compress
