// The quantization pipeline: read, (calibrate), rewrite, write, measure against the float model.
#include "compress/quantize.h"

#include <filesystem>

#include "compress/calibration.h"
#include "compress/model_edit.h"
#include "compress/model_writer.h"
#include "compress/observed_session.h"
#include "compress/output_comparison.h"
#include "compress/progress_bar.h"
#include "compress/rewrite_common.h"
#include "model/onnx_loader.h"

namespace tessera::compress {
namespace {

namespace fs = std::filesystem;

std::string FolderOf(const std::string& path) {
  std::string dir = fs::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

}  // namespace

StatusOr<QuantizeReport> QuantizeModelFile(const std::string& in_path, const std::string& out_path,
                                           const QuantizeOptions& options) {
  TS_RETURN_IF_ERROR(ValidateQuantizeOptions(options));
  const std::string name = fs::path(in_path).filename().string(), in_dir = FolderOf(in_path);
  onnx::ModelProto original;
  TS_RETURN_IF_ERROR(ReadModelProtoFile(in_path, original));
  if (!original.has_graph()) return InvalidArgument("model '" + name + "': not an ONNX model: no graph");

  std::vector<CalibrationSample> samples;
  if (!options.calibration_dir.empty()) {
    auto loaded = LoadCalibrationSamples(options.calibration_dir, FedInputNames(original.graph()));
    if (!loaded.ok()) return loaded.status().WithContext("model '" + name + "'");
    samples = std::move(loaded).value();
  }
  ProgressBar bar(options.progress);
  QuantizeReport report;
  report.mode = options.mode;
  report.samples = samples.size();
  report.weight_bytes_before = InitializerBytes(original);

  onnx::ModelProto quantized = original;
  ModelEdit edit(quantized, in_dir, name);
  switch (options.mode) {
    case QuantizeMode::kWeights:
      TS_RETURN_IF_ERROR(RewriteWeightsToNBits(edit, options, report, &bar));
      break;
    case QuantizeMode::kDynamic:
      TS_RETURN_IF_ERROR(RewriteDynamic(edit, options, report, &bar));
      break;
    case QuantizeMode::kStatic: {
      const std::vector<std::string> activations = StaticActivations(edit, options);
      if (activations.empty()) break;  // nothing to quantize: reported below
      auto session = ObservedSession::Create(original, in_dir, name, activations);
      if (!session.ok()) return session.status();
      auto ranges = CalibrateRanges(*session, samples, activations, options, &bar);
      if (!ranges.ok()) return ranges.status().WithContext("model '" + name + "'");
      TS_RETURN_IF_ERROR(RewriteStatic(edit, options, *ranges, report, &bar));
      break;
    }
  }
  if (report.layers.empty()) {
    return InvalidArgument("model '" + name + "': nothing to quantize: " +
                           (options.mode == QuantizeMode::kStatic
                                ? std::string("no Conv, MatMul or Gemm outside --exclude")
                                : std::string("no MatMul or Gemm with a constant 2-D float32 weight outside "
                                              "--exclude")) +
                           (report.skipped.empty() ? ""
                                                   : " (first left in float: '" + report.skipped[0].node +
                                                         "': " + report.skipped[0].reason + ")"));
  }
  edit.RemoveUnusedInitializers();
  quantized.set_producer_name("tessera quantize");
  TS_RETURN_IF_ERROR(WriteModelFile(quantized, in_dir, out_path));
  report.weight_bytes_after = InitializerBytes(quantized);
  if (!samples.empty()) {
    TS_RETURN_IF_ERROR(MeasureErrors(original, quantized, in_dir, FolderOf(out_path), name, samples, report.layers,
                                     report.model_outputs, bar));
  }
  return report;
}

}  // namespace tessera::compress
