// MeasureErrors: both models over the samples, observed at the compressed nodes' outputs.
#include "compress/output_comparison.h"

#include "compress/observed_session.h"

namespace tessera::compress {

Status MeasureErrors(const onnx::ModelProto& float_model, const onnx::ModelProto& compressed,
                     const std::string& float_dir, const std::string& compressed_dir, const std::string& name,
                     const std::vector<CalibrationSample>& samples, std::vector<LayerReport>& layers,
                     std::vector<std::pair<std::string, ErrorStats>>& model_outputs, ProgressBar& bar) {
  std::vector<std::string> observed;
  for (const LayerReport& l : layers) observed.push_back(l.output);
  TS_ASSIGN_OR_RETURN(ObservedSession reference, ObservedSession::Create(float_model, float_dir, name, observed));
  TS_ASSIGN_OR_RETURN(ObservedSession candidate,
                      ObservedSession::Create(compressed, compressed_dir, name + " (compressed)", observed));
  for (const auto& v : float_model.graph().output()) model_outputs.push_back({v.name(), ErrorStats{}});
  auto compare = [](const std::map<std::string, Tensor>& q, const std::map<std::string, Tensor>& r,
                    const std::string& value, ErrorStats& into) {
    auto qi = q.find(value), ri = r.find(value);
    if (qi == q.end() || ri == r.end() || qi->second.dtype() != DType::kFloat32 ||
        ri->second.dtype() != DType::kFloat32 || qi->second.shape() != ri->second.shape()) {
      return;
    }
    MergeErrorStats(into,
                    CompareValues(qi->second.data<float>(), ri->second.data<float>(), qi->second.element_count()));
  };
  for (size_t i = 0; i < samples.size(); ++i) {
    TS_ASSIGN_OR_RETURN(auto r, reference.Run(samples[i]));
    TS_ASSIGN_OR_RETURN(auto q, candidate.Run(samples[i]));
    for (LayerReport& l : layers) compare(q, r, l.output, l.output_error);
    for (auto& [value, stats] : model_outputs) compare(q, r, value, stats);
    bar.Step("measuring", i + 1, samples.size());
  }
  return Status::Ok();
}

}  // namespace tessera::compress
