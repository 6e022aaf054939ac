#include "compress/source_model.h"

#include <filesystem>
#include <utility>

#include "compress/model_writer.h"
#include "compress/observed_session.h"
#include "compress/output_comparison.h"
#include "model/onnx_loader.h"

namespace tessera::compress {

namespace fs = std::filesystem;

std::string FolderOf(const std::string& path) {
  std::string dir = fs::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

StatusOr<SourceModel> ReadSourceModel(const std::string& path, const std::string& calibration_dir) {
  SourceModel source;
  source.name = fs::path(path).filename().string();
  source.folder = FolderOf(path);
  TS_RETURN_IF_ERROR(ReadModelProtoFile(path, source.proto));
  if (!source.proto.has_graph()) {
    return InvalidArgument("model '" + source.name + "': not an ONNX model: no graph");
  }
  if (!calibration_dir.empty()) {
    auto loaded = LoadCalibrationSamples(calibration_dir, FedInputNames(source.proto.graph()));
    if (!loaded.ok()) return loaded.status().WithContext("model '" + source.name + "'");
    source.samples = std::move(loaded).value();
  }
  return source;
}

Status WriteAndMeasure(const SourceModel& source, onnx::ModelProto& compressed, const std::string& producer,
                       const std::string& out_path, QuantizeReport& report, ProgressBar& bar) {
  compressed.set_producer_name(producer);
  TS_RETURN_IF_ERROR(WriteModelFile(compressed, source.folder, out_path));
  report.weight_bytes_after = InitializerBytes(compressed);
  if (source.samples.empty()) return Status::Ok();
  return MeasureErrors(source.proto, compressed, source.folder, FolderOf(out_path), source.name, source.samples,
                       report.layers, report.model_outputs, bar);
}

}  // namespace tessera::compress
