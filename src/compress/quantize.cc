// The quantization pipeline: read, (calibrate), rewrite, write, measure against the float model.
#include "compress/quantize.h"

#include "compress/calibration.h"
#include "compress/model_edit.h"
#include "compress/model_writer.h"
#include "compress/observed_session.h"
#include "compress/progress_bar.h"
#include "compress/rewrite_common.h"
#include "compress/source_model.h"

namespace tessera::compress {

StatusOr<QuantizeReport> QuantizeModelFile(const std::string& in_path, const std::string& out_path,
                                           const QuantizeOptions& options) {
  TS_RETURN_IF_ERROR(ValidateQuantizeOptions(options));
  TS_ASSIGN_OR_RETURN(SourceModel source, ReadSourceModel(in_path, options.calibration_dir));
  const std::string& name = source.name;
  const onnx::ModelProto& original = source.proto;

  ProgressBar bar(options.progress);
  QuantizeReport report;
  report.mode = options.mode;
  report.samples = source.samples.size();
  report.weight_bytes_before = InitializerBytes(original);

  onnx::ModelProto quantized = original;
  ModelEdit edit(quantized, source.folder, name);
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
      auto session = ObservedSession::Create(original, source.folder, name, activations);
      if (!session.ok()) return session.status();
      auto ranges = CalibrateRanges(*session, source.samples, activations, options, &bar);
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
  TS_RETURN_IF_ERROR(WriteAndMeasure(source, quantized, "tessera quantize", out_path, report, bar));
  return report;
}

}  // namespace tessera::compress
