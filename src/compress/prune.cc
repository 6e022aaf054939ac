// The pruning pipeline: read, prune (unstructured or channels), write, measure against the float model.
#include "compress/prune.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "compress/calibration_data.h"
#include "compress/model_writer.h"
#include "compress/observed_session.h"
#include "compress/prune_channels.h"
#include "compress/rewrite_common.h"
#include "compress/source_model.h"

namespace tessera::compress {
namespace {

// Zeroes the `sparsity` fraction of smallest |w| in every Conv/MatMul/Gemm's constant float weight (each
// tensor once, however many nodes share it).
Status PruneMagnitudes(ModelEdit& edit, const PruneOptions& o, QuantizeReport& report) {
  std::set<std::string> done;
  for (const onnx::NodeProto& node : edit.graph().node()) {
    const bool product =
        node.domain().empty() && (node.op_type() == "Conv" || node.op_type() == "MatMul" || node.op_type() == "Gemm");
    if (!product || node.input_size() < 2) continue;
    if (IsPruneExcluded(node, o)) {
      report.skipped.push_back({NodeLabel(node), node.op_type(), "excluded"});
      continue;
    }
    onnx::TensorProto* w = MutableInitializer(edit.graph(), node.input(1));
    if (w == nullptr || w->data_type() != onnx::TensorProto::FLOAT) {
      report.skipped.push_back({NodeLabel(node), node.op_type(), "weight is not a constant float32 initializer"});
      continue;
    }
    if (!done.insert(w->name()).second) continue;
    TS_ASSIGN_OR_RETURN(std::vector<float> values, edit.ReadFloats(*w));
    const std::vector<float> original = values;
    const size_t cut = static_cast<size_t>(std::floor(o.sparsity * static_cast<double>(values.size())));
    if (cut > 0) {
      std::vector<float> mags(values.size());
      for (size_t i = 0; i < values.size(); ++i) mags[i] = std::fabs(values[i]);
      std::nth_element(mags.begin(), mags.begin() + static_cast<std::ptrdiff_t>(cut - 1), mags.end());
      const float threshold = mags[cut - 1];
      // Ties at the threshold are cut until `cut` entries are zero, so the sparsity is exact.
      size_t below = 0;
      for (float v : values) below += std::fabs(v) < threshold ? 1 : 0;
      size_t ties = cut - below;
      for (float& v : values) {
        const float m = std::fabs(v);
        if (m < threshold || (m == threshold && ties > 0 && (ties--, true))) v = 0.0f;
      }
    }
    const std::vector<int64_t> dims(w->dims().begin(), w->dims().end());
    SetFloatData(*w, dims, values);
    LayerReport layer = NewLayerReport(node);
    char form[64];
    std::snprintf(form, sizeof form, "%.1f%% zeros",
                  100.0 * static_cast<double>(cut) / std::max<size_t>(1, values.size()));
    layer.form = form;
    layer.weight = CompareValues(values.data(), original.data(), static_cast<int64_t>(values.size()));
    report.layers.push_back(std::move(layer));
  }
  return Status::Ok();
}

}  // namespace

Status ValidatePruneOptions(const PruneOptions& o) {
  if (!(o.sparsity > 0.0 && o.sparsity < 1.0)) {
    return InvalidArgument("--sparsity must be between 0 and 1 (exclusive), got " + std::to_string(o.sparsity));
  }
  return Status::Ok();
}

StatusOr<QuantizeReport> PruneModelFile(const std::string& in_path, const std::string& out_path,
                                        const PruneOptions& options) {
  TS_RETURN_IF_ERROR(ValidatePruneOptions(options));
  TS_ASSIGN_OR_RETURN(SourceModel source, ReadSourceModel(in_path, options.calibration_dir));
  const std::string& name = source.name;
  QuantizeReport report;
  report.samples = source.samples.size();
  report.weight_bytes_before = InitializerBytes(source.proto);
  onnx::ModelProto pruned = source.proto;
  ModelEdit edit(pruned, source.folder, name);
  if (options.structured_channels) {
    TS_RETURN_IF_ERROR(PruneChannels(edit, options, report));
  } else {
    TS_RETURN_IF_ERROR(PruneMagnitudes(edit, options, report));
  }
  if (report.layers.empty()) {
    return InvalidArgument("model '" + name + "': nothing to prune" +
                           (report.skipped.empty() ? std::string(": no Conv, MatMul or Gemm")
                                                   : " (first left whole: '" + report.skipped[0].node +
                                                         "': " + report.skipped[0].reason + ")"));
  }
  edit.RemoveUnusedInitializers();
  ProgressBar bar(false);
  TS_RETURN_IF_ERROR(WriteAndMeasure(source, pruned, "tessera prune", out_path, report, bar));
  return report;
}

}  // namespace tessera::compress
